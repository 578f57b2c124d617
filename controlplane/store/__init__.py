"""The API server's durable store: revisioned keys, compare-and-swap, watch from a revision, compaction."""

from controlplane.store.interface import (
    Compacted,
    Event,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RevisionConflict,
    Store,
    StoreError,
    Watch,
    WatcherTooSlow,
)
from controlplane.store.sqlite import DURABLE_PRAGMAS, SqliteStore, open_sqlite_store

__all__ = [
    "DURABLE_PRAGMAS",
    "Compacted",
    "Event",
    "KeyExists",
    "KeyNotFound",
    "KeyValue",
    "RevisionConflict",
    "SqliteStore",
    "Store",
    "StoreError",
    "Watch",
    "WatcherTooSlow",
    "open_sqlite_store",
]
