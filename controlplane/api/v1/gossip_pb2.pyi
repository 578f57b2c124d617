from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GossipMember(_message.Message):
    __slots__ = ("name", "address", "port", "status", "incarnation", "tags", "status_seconds")
    class TagsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    NAME_FIELD_NUMBER: _ClassVar[int]
    ADDRESS_FIELD_NUMBER: _ClassVar[int]
    PORT_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    INCARNATION_FIELD_NUMBER: _ClassVar[int]
    TAGS_FIELD_NUMBER: _ClassVar[int]
    STATUS_SECONDS_FIELD_NUMBER: _ClassVar[int]
    name: str
    address: str
    port: int
    status: str
    incarnation: int
    tags: _containers.ScalarMap[str, str]
    status_seconds: float
    def __init__(self, name: _Optional[str] = ..., address: _Optional[str] = ..., port: _Optional[int] = ..., status: _Optional[str] = ..., incarnation: _Optional[int] = ..., tags: _Optional[_Mapping[str, str]] = ..., status_seconds: _Optional[float] = ...) -> None: ...

class GossipView(_message.Message):
    __slots__ = ("node", "members", "stats")
    class StatsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    NODE_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    STATS_FIELD_NUMBER: _ClassVar[int]
    node: str
    members: _containers.RepeatedCompositeFieldContainer[GossipMember]
    stats: _containers.ScalarMap[str, int]
    def __init__(self, node: _Optional[str] = ..., members: _Optional[_Iterable[_Union[GossipMember, _Mapping]]] = ..., stats: _Optional[_Mapping[str, int]] = ...) -> None: ...

class MembersRequest(_message.Message):
    __slots__ = ("node",)
    NODE_FIELD_NUMBER: _ClassVar[int]
    node: str
    def __init__(self, node: _Optional[str] = ...) -> None: ...
