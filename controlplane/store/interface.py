"""What the API server needs from a store: revisioned keys, compare-and-swap, watch from a revision.

One global revision counter: every write (create, update, delete) gets the next integer. A watch
delivers the events after a revision in revision order; compaction forgets history up to a
revision, after which a watch from before it fails with `Compacted` (the client relists).
The SQLite backend implements this; an etcd backend implements the same.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass
from typing import Literal, Protocol


@dataclass(frozen=True, slots=True)
class KeyValue:
    key: str
    value: bytes
    # revision of the write that produced this value (or of the deletion, in a DELETE event)
    mod_revision: int
    create_revision: int  # revision at which the key was (last) created


@dataclass(frozen=True, slots=True)
class Event:
    type: Literal["PUT", "DELETE"]
    kv: KeyValue  # PUT: the new value. DELETE: key + last value, mod_revision = the deletion's revision
    prev: KeyValue | None  # value before this event (None for a creation)

    @property
    def revision(self) -> int:
        return self.kv.mod_revision


class StoreError(Exception):
    """Anything the store refuses or fails to do."""


class KeyExists(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} already exists")
        self.key = key


class KeyNotFound(StoreError):
    def __init__(self, key: str) -> None:
        super().__init__(f"key {key!r} not found")
        self.key = key


class RevisionConflict(StoreError):
    def __init__(self, key: str, expected: int, actual: int) -> None:
        super().__init__(f"key {key!r} is at revision {actual}, not {expected}: read it again and retry")
        self.key = key
        self.expected = expected
        self.actual = actual


class Compacted(StoreError):
    def __init__(self, requested: int, compact_revision: int) -> None:
        super().__init__(f"revision {requested} is compacted (history starts after {compact_revision}): "
                         "list again and watch from the list's revision")
        self.requested = requested
        self.compact_revision = compact_revision


class WatcherTooSlow(StoreError):
    """The watcher's queue overflowed: it missed events and must list and watch again."""


class Watch(Protocol):
    """An async iterator of the events after a revision, in revision order, with no gap or duplicate.

    Raises `Compacted` at the first iteration when the start revision was compacted, and
    `WatcherTooSlow` once it delivered what it had queued before it fell behind. Ends (stops
    iterating) when the store closes or `aclose()` was called.
    """

    def __aiter__(self) -> Watch: ...

    async def __anext__(self) -> Event: ...

    async def aclose(self) -> None: ...

    async def next_within(self, timeout: float) -> Event | type[StopAsyncIteration] | None:
        """The next event; None if none came within `timeout` seconds; StopAsyncIteration if ended."""
        ...

    def idle_revision(self) -> int:
        """A revision this watcher has seen everything up to (for bookmarks)."""
        ...


class Store(Protocol):
    @property
    def revision(self) -> int:
        """Newest committed revision (0 for an empty store)."""
        ...

    @property
    def compact_revision(self) -> int: ...

    async def get(self, key: str) -> KeyValue | None: ...

    async def list(self, prefix: str) -> tuple[builtins.list[KeyValue], int]:
        """The keys under `prefix`, sorted by key, and the revision the list is consistent at."""
        ...

    async def create(self, key: str, value: bytes) -> KeyValue:
        """Raises KeyExists."""
        ...

    async def update(self, key: str, value: bytes, expected_mod_revision: int | None = None) -> KeyValue:
        """Raises KeyNotFound, or RevisionConflict when `expected_mod_revision` is not the current one."""
        ...

    async def delete(self, key: str, expected_mod_revision: int | None = None) -> KeyValue:
        """The deleted key's last value, with mod_revision = the deletion's revision."""
        ...

    def watch(self, prefix: str, after_revision: int) -> Watch:
        """Events with revision > after_revision for keys under `prefix`, in revision order."""
        ...

    async def compact(self, revision: int) -> None:
        """Forget history up to `revision` (no-op at or below the current compact revision)."""
        ...

    async def close(self) -> None: ...
