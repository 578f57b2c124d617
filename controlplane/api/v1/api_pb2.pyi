from controlplane.api.v1 import core_pb2 as _core_pb2
from controlplane.api.v1 import apps_pb2 as _apps_pb2
from controlplane.api.v1 import discovery_pb2 as _discovery_pb2
from controlplane.api.v1 import networking_pb2 as _networking_pb2
from controlplane.api.v1 import storage_pb2 as _storage_pb2
from controlplane.api.v1 import coordination_pb2 as _coordination_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Object(_message.Message):
    __slots__ = ("namespace", "node", "pod", "service", "endpoints", "endpoint_slice", "config_map", "secret", "event", "deployment", "replica_set", "stateful_set", "persistent_volume", "persistent_volume_claim", "storage_class", "ingress", "ingress_class", "lease")
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NODE_FIELD_NUMBER: _ClassVar[int]
    POD_FIELD_NUMBER: _ClassVar[int]
    SERVICE_FIELD_NUMBER: _ClassVar[int]
    ENDPOINTS_FIELD_NUMBER: _ClassVar[int]
    ENDPOINT_SLICE_FIELD_NUMBER: _ClassVar[int]
    CONFIG_MAP_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    DEPLOYMENT_FIELD_NUMBER: _ClassVar[int]
    REPLICA_SET_FIELD_NUMBER: _ClassVar[int]
    STATEFUL_SET_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_VOLUME_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_VOLUME_CLAIM_FIELD_NUMBER: _ClassVar[int]
    STORAGE_CLASS_FIELD_NUMBER: _ClassVar[int]
    INGRESS_FIELD_NUMBER: _ClassVar[int]
    INGRESS_CLASS_FIELD_NUMBER: _ClassVar[int]
    LEASE_FIELD_NUMBER: _ClassVar[int]
    namespace: _core_pb2.Namespace
    node: _core_pb2.Node
    pod: _core_pb2.Pod
    service: _core_pb2.Service
    endpoints: _core_pb2.Endpoints
    endpoint_slice: _discovery_pb2.EndpointSlice
    config_map: _core_pb2.ConfigMap
    secret: _core_pb2.Secret
    event: _core_pb2.Event
    deployment: _apps_pb2.Deployment
    replica_set: _apps_pb2.ReplicaSet
    stateful_set: _apps_pb2.StatefulSet
    persistent_volume: _core_pb2.PersistentVolume
    persistent_volume_claim: _core_pb2.PersistentVolumeClaim
    storage_class: _storage_pb2.StorageClass
    ingress: _networking_pb2.Ingress
    ingress_class: _networking_pb2.IngressClass
    lease: _coordination_pb2.Lease
    def __init__(self, namespace: _Optional[_Union[_core_pb2.Namespace, _Mapping]] = ..., node: _Optional[_Union[_core_pb2.Node, _Mapping]] = ..., pod: _Optional[_Union[_core_pb2.Pod, _Mapping]] = ..., service: _Optional[_Union[_core_pb2.Service, _Mapping]] = ..., endpoints: _Optional[_Union[_core_pb2.Endpoints, _Mapping]] = ..., endpoint_slice: _Optional[_Union[_discovery_pb2.EndpointSlice, _Mapping]] = ..., config_map: _Optional[_Union[_core_pb2.ConfigMap, _Mapping]] = ..., secret: _Optional[_Union[_core_pb2.Secret, _Mapping]] = ..., event: _Optional[_Union[_core_pb2.Event, _Mapping]] = ..., deployment: _Optional[_Union[_apps_pb2.Deployment, _Mapping]] = ..., replica_set: _Optional[_Union[_apps_pb2.ReplicaSet, _Mapping]] = ..., stateful_set: _Optional[_Union[_apps_pb2.StatefulSet, _Mapping]] = ..., persistent_volume: _Optional[_Union[_core_pb2.PersistentVolume, _Mapping]] = ..., persistent_volume_claim: _Optional[_Union[_core_pb2.PersistentVolumeClaim, _Mapping]] = ..., storage_class: _Optional[_Union[_storage_pb2.StorageClass, _Mapping]] = ..., ingress: _Optional[_Union[_networking_pb2.Ingress, _Mapping]] = ..., ingress_class: _Optional[_Union[_networking_pb2.IngressClass, _Mapping]] = ..., lease: _Optional[_Union[_coordination_pb2.Lease, _Mapping]] = ...) -> None: ...

class ObjectKey(_message.Message):
    __slots__ = ("kind", "namespace", "name")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    kind: str
    namespace: str
    name: str
    def __init__(self, kind: _Optional[str] = ..., namespace: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class CreateRequest(_message.Message):
    __slots__ = ("object", "dry_run")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    object: Object
    dry_run: bool
    def __init__(self, object: _Optional[_Union[Object, _Mapping]] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class GetRequest(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: ObjectKey
    def __init__(self, key: _Optional[_Union[ObjectKey, _Mapping]] = ...) -> None: ...

class ListRequest(_message.Message):
    __slots__ = ("kind", "namespace", "label_selector", "field_selector")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    LABEL_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    FIELD_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    kind: str
    namespace: str
    label_selector: str
    field_selector: str
    def __init__(self, kind: _Optional[str] = ..., namespace: _Optional[str] = ..., label_selector: _Optional[str] = ..., field_selector: _Optional[str] = ...) -> None: ...

class ListResponse(_message.Message):
    __slots__ = ("items", "resource_version")
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Object]
    resource_version: str
    def __init__(self, items: _Optional[_Iterable[_Union[Object, _Mapping]]] = ..., resource_version: _Optional[str] = ...) -> None: ...

class UpdateRequest(_message.Message):
    __slots__ = ("object", "dry_run")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    object: Object
    dry_run: bool
    def __init__(self, object: _Optional[_Union[Object, _Mapping]] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class PatchRequest(_message.Message):
    __slots__ = ("key", "patch_type", "patch", "status", "dry_run")
    KEY_FIELD_NUMBER: _ClassVar[int]
    PATCH_TYPE_FIELD_NUMBER: _ClassVar[int]
    PATCH_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    key: ObjectKey
    patch_type: str
    patch: str
    status: bool
    dry_run: bool
    def __init__(self, key: _Optional[_Union[ObjectKey, _Mapping]] = ..., patch_type: _Optional[str] = ..., patch: _Optional[str] = ..., status: _Optional[bool] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class DeleteRequest(_message.Message):
    __slots__ = ("key", "grace_period_seconds", "propagation_policy", "precondition_uid", "precondition_resource_version", "dry_run")
    KEY_FIELD_NUMBER: _ClassVar[int]
    GRACE_PERIOD_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PROPAGATION_POLICY_FIELD_NUMBER: _ClassVar[int]
    PRECONDITION_UID_FIELD_NUMBER: _ClassVar[int]
    PRECONDITION_RESOURCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    key: ObjectKey
    grace_period_seconds: int
    propagation_policy: str
    precondition_uid: str
    precondition_resource_version: str
    dry_run: bool
    def __init__(self, key: _Optional[_Union[ObjectKey, _Mapping]] = ..., grace_period_seconds: _Optional[int] = ..., propagation_policy: _Optional[str] = ..., precondition_uid: _Optional[str] = ..., precondition_resource_version: _Optional[str] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class DeleteResponse(_message.Message):
    __slots__ = ("object", "pending")
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    object: Object
    pending: bool
    def __init__(self, object: _Optional[_Union[Object, _Mapping]] = ..., pending: _Optional[bool] = ...) -> None: ...

class WatchRequest(_message.Message):
    __slots__ = ("kind", "namespace", "label_selector", "field_selector", "resource_version", "allow_bookmarks")
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    LABEL_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    FIELD_SELECTOR_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    ALLOW_BOOKMARKS_FIELD_NUMBER: _ClassVar[int]
    kind: str
    namespace: str
    label_selector: str
    field_selector: str
    resource_version: str
    allow_bookmarks: bool
    def __init__(self, kind: _Optional[str] = ..., namespace: _Optional[str] = ..., label_selector: _Optional[str] = ..., field_selector: _Optional[str] = ..., resource_version: _Optional[str] = ..., allow_bookmarks: _Optional[bool] = ...) -> None: ...

class WatchEvent(_message.Message):
    __slots__ = ("type", "object", "resource_version")
    TYPE_FIELD_NUMBER: _ClassVar[int]
    OBJECT_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_VERSION_FIELD_NUMBER: _ClassVar[int]
    type: str
    object: Object
    resource_version: str
    def __init__(self, type: _Optional[str] = ..., object: _Optional[_Union[Object, _Mapping]] = ..., resource_version: _Optional[str] = ...) -> None: ...

class CompactRequest(_message.Message):
    __slots__ = ("revision",)
    REVISION_FIELD_NUMBER: _ClassVar[int]
    revision: int
    def __init__(self, revision: _Optional[int] = ...) -> None: ...

class CompactResponse(_message.Message):
    __slots__ = ("revision", "compact_revision")
    REVISION_FIELD_NUMBER: _ClassVar[int]
    COMPACT_REVISION_FIELD_NUMBER: _ClassVar[int]
    revision: int
    compact_revision: int
    def __init__(self, revision: _Optional[int] = ..., compact_revision: _Optional[int] = ...) -> None: ...

class ServerInfoRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ServerInfo(_message.Message):
    __slots__ = ("version", "store", "revision", "compact_revision")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    STORE_FIELD_NUMBER: _ClassVar[int]
    REVISION_FIELD_NUMBER: _ClassVar[int]
    COMPACT_REVISION_FIELD_NUMBER: _ClassVar[int]
    version: str
    store: str
    revision: int
    compact_revision: int
    def __init__(self, version: _Optional[str] = ..., store: _Optional[str] = ..., revision: _Optional[int] = ..., compact_revision: _Optional[int] = ...) -> None: ...

class APIResource(_message.Message):
    __slots__ = ("name", "singular_name", "short_names", "kind", "namespaced", "api_version", "verbs")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SINGULAR_NAME_FIELD_NUMBER: _ClassVar[int]
    SHORT_NAMES_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    NAMESPACED_FIELD_NUMBER: _ClassVar[int]
    API_VERSION_FIELD_NUMBER: _ClassVar[int]
    VERBS_FIELD_NUMBER: _ClassVar[int]
    name: str
    singular_name: str
    short_names: _containers.RepeatedScalarFieldContainer[str]
    kind: str
    namespaced: bool
    api_version: str
    verbs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, name: _Optional[str] = ..., singular_name: _Optional[str] = ..., short_names: _Optional[_Iterable[str]] = ..., kind: _Optional[str] = ..., namespaced: _Optional[bool] = ..., api_version: _Optional[str] = ..., verbs: _Optional[_Iterable[str]] = ...) -> None: ...

class APIResourceListRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class APIResourceList(_message.Message):
    __slots__ = ("resources",)
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    resources: _containers.RepeatedCompositeFieldContainer[APIResource]
    def __init__(self, resources: _Optional[_Iterable[_Union[APIResource, _Mapping]]] = ...) -> None: ...
