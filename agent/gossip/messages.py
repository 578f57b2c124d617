"""The wire format: compact binary messages, big-endian, one type byte first.

Small packets matter: a member sends a probe and an ack every probe interval, so every byte of
them is paid twice a second by every member. A ping is 1 + 4 + 1 + len(name) bytes, an ack 5.

    PING           seq:u32 target:str8                       (the ack goes to the packet's source)
    INDIRECT_PING  seq:u32 nack:u8 port:u16 address:ip target:str8
    ACK, NACK      seq:u32
    SUSPECT, DEAD  incarnation:u32 node:str8 from:str8       (DEAD from the node itself = it left)
    ALIVE          incarnation:u32 port:u16 address:ip node:str8 tags
    COMPOUND       count:u8 then count x (length:u16 message)
    PUSH_PULL      join:u8 count:u16 then count x (state:u8 incarnation:u32 port:u16 address:ip name:str8 tags)

str8 is a length byte and UTF-8; ip is a length byte (4 or 16) and the address; tags are a count
byte and that many (key:str8, value:u16-length UTF-8) pairs.
"""

from __future__ import annotations

import enum
import ipaddress
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Tags = tuple[tuple[str, str], ...]


class MessageError(ValueError):
    """Bytes that are not a well-formed message."""


class Kind(enum.IntEnum):
    PING = 1
    INDIRECT_PING = 2
    ACK = 3
    NACK = 4
    SUSPECT = 5
    ALIVE = 6
    DEAD = 7
    COMPOUND = 8
    PUSH_PULL = 9


class State(enum.IntEnum):
    """A member's state as the wire carries it."""
    ALIVE = 0
    SUSPECT = 1
    DEAD = 2
    LEFT = 3


@dataclass(frozen=True, slots=True)
class Ping:
    seq: int
    target: str  # the name of the member meant: a ping that reaches someone else is not acked


@dataclass(frozen=True, slots=True)
class IndirectPing:
    seq: int
    target: str
    address: str
    port: int
    nack: bool  # send a nack if the target does not answer in time


@dataclass(frozen=True, slots=True)
class Ack:
    seq: int


@dataclass(frozen=True, slots=True)
class Nack:
    seq: int


@dataclass(frozen=True, slots=True)
class Suspect:
    incarnation: int
    node: str
    accuser: str


@dataclass(frozen=True, slots=True)
class Alive:
    incarnation: int
    node: str
    address: str
    port: int
    tags: Tags = ()


@dataclass(frozen=True, slots=True)
class Dead:
    incarnation: int
    node: str
    accuser: str  # == node: the member left on purpose


@dataclass(frozen=True, slots=True)
class PushPullEntry:
    name: str
    address: str
    port: int
    incarnation: int
    state: State
    tags: Tags = ()


@dataclass(frozen=True, slots=True)
class PushPull:
    join: bool
    members: tuple[PushPullEntry, ...]


Message = Ping | IndirectPing | Ack | Nack | Suspect | Alive | Dead | PushPull
COMPOUND_HEADER = 2  # type and count
COMPOUND_PART = 2  # each part's length
MAX_COMPOUND_PARTS = 255

_U32 = struct.Struct(">I")
_U16 = struct.Struct(">H")


# ------------------------------------------------------------------ encoding

def _str8(text: str) -> bytes:
    data = text.encode()
    if len(data) > 255:
        raise MessageError(f"name {text[:20]!r}... is longer than 255 bytes")
    return bytes([len(data)]) + data


def _ip(address: str) -> bytes:
    try:
        packed = ipaddress.ip_address(address).packed
    except ValueError:
        raise MessageError(f"{address!r} is not an IP address") from None
    return bytes([len(packed)]) + packed


def _tags(tags: Tags) -> bytes:
    if len(tags) > 255:
        raise MessageError("more than 255 tags")
    parts = [bytes([len(tags)])]
    for key, value in tags:
        data = value.encode()
        if len(data) > 0xFFFF:
            raise MessageError(f"tag {key!r} is longer than 65535 bytes")
        parts += [_str8(key), _U16.pack(len(data)), data]
    return b"".join(parts)


def _u32(value: int) -> bytes:
    if not 0 <= value <= 0xFFFFFFFF:
        raise MessageError(f"{value} does not fit 32 bits")
    return _U32.pack(value)


def _entry(entry: PushPullEntry) -> bytes:
    return (bytes([entry.state]) + _u32(entry.incarnation) + _U16.pack(entry.port) + _ip(entry.address)
            + _str8(entry.name) + _tags(entry.tags))


def encode(message: Message) -> bytes:
    match message:
        case Ping(seq, target):
            return bytes([Kind.PING]) + _u32(seq) + _str8(target)
        case IndirectPing(seq, target, address, port, nack):
            return (bytes([Kind.INDIRECT_PING]) + _u32(seq) + bytes([int(nack)]) + _U16.pack(port) + _ip(address)
                    + _str8(target))
        case Ack(seq):
            return bytes([Kind.ACK]) + _u32(seq)
        case Nack(seq):
            return bytes([Kind.NACK]) + _u32(seq)
        case Suspect(incarnation, node, accuser):
            return bytes([Kind.SUSPECT]) + _u32(incarnation) + _str8(node) + _str8(accuser)
        case Dead(incarnation, node, accuser):
            return bytes([Kind.DEAD]) + _u32(incarnation) + _str8(node) + _str8(accuser)
        case Alive(incarnation, node, address, port, tags):
            return (bytes([Kind.ALIVE]) + _u32(incarnation) + _U16.pack(port) + _ip(address) + _str8(node)
                    + _tags(tags))
        case PushPull(join, members):
            if len(members) > 0xFFFF:
                raise MessageError("more than 65535 members in one push-pull")
            return (bytes([Kind.PUSH_PULL, int(join)]) + _U16.pack(len(members))
                    + b"".join(_entry(m) for m in members))
    raise MessageError(f"cannot encode {message!r}")


def compound(parts: Sequence[bytes]) -> bytes:
    """One packet of several encoded messages (a single one travels as itself)."""
    if len(parts) == 1:
        return parts[0]
    if not parts or len(parts) > MAX_COMPOUND_PARTS:
        raise MessageError(f"a compound packet holds 1 to {MAX_COMPOUND_PARTS} messages, not {len(parts)}")
    out = [bytes([Kind.COMPOUND, len(parts)])]
    for part in parts:
        if len(part) > 0xFFFF:
            raise MessageError("a message of a compound packet is longer than 65535 bytes")
        out += [_U16.pack(len(part)), part]
    return b"".join(out)


# ------------------------------------------------------------------ decoding

class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, size: int) -> bytes:
        end = self.at + size
        if end > len(self.data):
            raise MessageError(f"truncated message: wanted {size} bytes at offset {self.at} of {len(self.data)}")
        chunk = self.data[self.at:end]
        self.at = end
        return chunk

    def u8(self) -> int:
        return self.take(1)[0]

    def u16(self) -> int:
        value: int = _U16.unpack(self.take(2))[0]
        return value

    def u32(self) -> int:
        value: int = _U32.unpack(self.take(4))[0]
        return value

    def text(self, size: int) -> str:
        try:
            return self.take(size).decode()
        except UnicodeDecodeError:
            raise MessageError("a name or tag is not UTF-8") from None

    def str8(self) -> str:
        return self.text(self.u8())

    def ip(self) -> str:
        size = self.u8()
        if size not in (4, 16):
            raise MessageError(f"an address of {size} bytes is neither IPv4 nor IPv6")
        return str(ipaddress.ip_address(self.take(size)))

    def tags(self) -> Tags:
        pairs = []
        for _ in range(self.u8()):
            key = self.str8()
            pairs.append((key, self.text(self.u16())))
        return tuple(pairs)

    def end(self) -> None:
        if self.at != len(self.data):
            raise MessageError(f"{len(self.data) - self.at} stray bytes after the message")


def _state(value: int) -> State:
    try:
        return State(value)
    except ValueError:
        raise MessageError(f"unknown member state {value}") from None


def decode(data: bytes) -> Message:
    """One message (not a compound)."""
    reader = _Reader(data)
    kind = reader.u8()
    message: Message
    if kind == Kind.PING:
        message = Ping(reader.u32(), reader.str8())
    elif kind == Kind.INDIRECT_PING:
        seq, nack, port, address = reader.u32(), bool(reader.u8()), reader.u16(), reader.ip()
        message = IndirectPing(seq, reader.str8(), address, port, nack)
    elif kind == Kind.ACK:
        message = Ack(reader.u32())
    elif kind == Kind.NACK:
        message = Nack(reader.u32())
    elif kind in (Kind.SUSPECT, Kind.DEAD):
        incarnation, node, accuser = reader.u32(), reader.str8(), reader.str8()
        message = Suspect(incarnation, node, accuser) if kind == Kind.SUSPECT else Dead(incarnation, node, accuser)
    elif kind == Kind.ALIVE:
        incarnation, port, address = reader.u32(), reader.u16(), reader.ip()
        message = Alive(incarnation, reader.str8(), address, port, reader.tags())
    elif kind == Kind.PUSH_PULL:
        join, count = bool(reader.u8()), reader.u16()
        entries = []
        for _ in range(count):
            state, incarnation, port, address = _state(reader.u8()), reader.u32(), reader.u16(), reader.ip()
            entries.append(PushPullEntry(reader.str8(), address, port, incarnation, state, reader.tags()))
        message = PushPull(join, tuple(entries))
    else:
        raise MessageError(f"unknown message type {kind}")
    reader.end()
    return message


def decode_packet(data: bytes) -> list[Message]:
    """Every message of a packet, compound or single; MessageError if any part is malformed."""
    if not data:
        raise MessageError("empty packet")
    if data[0] != Kind.COMPOUND:
        return [decode(data)]
    reader = _Reader(data)
    reader.u8()
    parts = [reader.take(reader.u16()) for _ in range(reader.u8())]
    reader.end()
    return [decode(part) for part in parts]


def encoded_size(messages: Iterable[bytes]) -> int:
    parts = list(messages)
    return len(parts[0]) if len(parts) == 1 else COMPOUND_HEADER + sum(COMPOUND_PART + len(p) for p in parts)
