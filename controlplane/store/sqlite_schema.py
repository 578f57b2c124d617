"""The SQLite file of the store: its pragmas, tables, and the statements run on the writer thread.

Tables:
- `log`: one row per revision, append-only until compaction: the key, its value (for a deletion:
  the last value), the revision the key was created at, the revision of the key's previous row
  (NULL for a creation), and whether the row is a deletion (a tombstone).
- `current`: key -> the revision of its live row in `log`.
- `meta`: `compact_rev`, the revision up to which history was forgotten.

Every function here is blocking and must run on the one thread that owns the connection.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from controlplane.store.interface import Compacted, Event, KeyValue, StoreError

# An acknowledged write survives kill -9 and power loss: the WAL is fsynced at every commit.
DURABLE_PRAGMAS: tuple[str, ...] = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
)

# The API server is the only writer: hold the file's lock while open, so a second server on the
# same data directory fails at start instead of writing behind the first one's back.
_SINGLE_WRITER_PRAGMAS: tuple[str, ...] = ("PRAGMA locking_mode=EXCLUSIVE",)

LOCK_TIMEOUT = 5.0  # seconds to wait for another process to let go of the file

FORMAT_VERSION = 1  # PRAGMA user_version of a file in this layout

_SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS log (
        rev INTEGER PRIMARY KEY,
        key TEXT NOT NULL,
        value BLOB NOT NULL,
        create_rev INTEGER NOT NULL,
        prev_rev INTEGER,
        deleted INTEGER NOT NULL DEFAULT 0
    )""",
    "CREATE TABLE IF NOT EXISTS current (key TEXT PRIMARY KEY, rev INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID",
    "INSERT OR IGNORE INTO meta (name, value) VALUES ('compact_rev', 0)",
)


@dataclass(frozen=True, slots=True)
class Loaded:
    revision: int
    compact_revision: int
    current: list[KeyValue]


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) the store's file with durable settings and take its lock."""
    try:
        conn = sqlite3.connect(path, timeout=LOCK_TIMEOUT, isolation_level=None)
    except sqlite3.Error as error:
        raise StoreError(f"cannot open the store {path}: {error}") from error
    try:
        for pragma in (*_SINGLE_WRITER_PRAGMAS, *DURABLE_PRAGMAS):
            conn.execute(pragma)
        mode = conn.execute("PRAGMA journal_mode").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"the store {path} cannot use WAL journaling (got {mode!r}): "
                             "put the data directory on a local filesystem")
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > FORMAT_VERSION:
            raise StoreError(f"the store {path} has format {version}, newer than this kubelab's "
                             f"{FORMAT_VERSION}: run a newer kubelab")
        conn.execute("BEGIN IMMEDIATE")  # takes the exclusive lock, kept until the connection closes
        for statement in _SCHEMA:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {FORMAT_VERSION}")
        conn.execute("COMMIT")
    except sqlite3.OperationalError as error:
        conn.close()
        if "locked" in str(error):
            raise StoreError(f"the store {path} is in use by another process (another API server on "
                             "the same --data-dir?): stop it first") from error
        raise StoreError(f"cannot open the store {path}: {error}") from error
    except BaseException:
        conn.close()
        raise
    return conn


def load(conn: sqlite3.Connection) -> Loaded:
    """The newest revision, the compact revision and the current value of every key."""
    compact = _compact_revision(conn)
    newest = conn.execute("SELECT coalesce(max(rev), 0) FROM log").fetchone()[0]
    rows = conn.execute(
        "SELECT c.key, l.value, l.rev, l.create_rev FROM current c JOIN log l ON l.rev = c.rev").fetchall()
    # Compaction deletes only rows at or below compact_rev, and never the newest row, unless it is
    # a tombstone at compact_rev: then the newest revision is compact_rev itself.
    return Loaded(max(newest, compact), compact, [KeyValue(k, bytes(v), r, c) for k, v, r, c in rows])


def append(conn: sqlite3.Connection, events: Sequence[Event]) -> None:
    """Write the events (consecutive revisions, in order) in one transaction: one fsync."""
    final: dict[str, int | None] = {}  # key -> its live revision after the batch, None if deleted
    rows = []
    for event in events:
        kv = event.kv
        deleted = event.type == "DELETE"
        rows.append((kv.mod_revision, kv.key, kv.value, kv.create_revision,
                     event.prev.mod_revision if event.prev is not None else None, int(deleted)))
        final[kv.key] = None if deleted else kv.mod_revision
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany(
            "INSERT INTO log (rev, key, value, create_rev, prev_rev, deleted) VALUES (?, ?, ?, ?, ?, ?)",
            rows)
        conn.executemany(
            "INSERT INTO current (key, rev) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET rev = excluded.rev",
            [(key, rev) for key, rev in final.items() if rev is not None])
        conn.executemany("DELETE FROM current WHERE key = ?",
                         [(key,) for key, rev in final.items() if rev is None])
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def read_history(conn: sqlite3.Connection, prefix: str, after: int, upto: int, limit: int) -> list[Event]:
    """Up to `limit` events under `prefix` with after < revision <= upto, each with its prev value.

    Raises Compacted when history after `after` is no longer complete.
    """
    compact = _compact_revision(conn)
    if after < compact:
        raise Compacted(after, compact)
    rows = conn.execute(
        """SELECT l.rev, l.key, l.value, l.create_rev, l.deleted, l.prev_rev, p.value, p.create_rev
           FROM log l LEFT JOIN log p ON p.rev = l.prev_rev
           WHERE l.rev > ? AND l.rev <= ? AND substr(l.key, 1, ?) = ?
           ORDER BY l.rev LIMIT ?""",
        (after, upto, len(prefix), prefix, limit)).fetchall()
    events = []
    for rev, key, value, create_rev, deleted, prev_rev, prev_value, prev_create_rev in rows:
        prev = None
        if prev_rev is not None:
            if prev_value is None:
                raise StoreError(f"store history is damaged: revision {rev} of {key!r} follows revision "
                                 f"{prev_rev}, which is missing")
            prev = KeyValue(key, bytes(prev_value), prev_rev, prev_create_rev)
        kv = KeyValue(key, bytes(value), rev, create_rev)
        events.append(Event("DELETE" if deleted else "PUT", kv, prev))
    return events


def compact(conn: sqlite3.Connection, revision: int) -> int:
    """Forget history up to `revision`; return how many log rows went.

    A row at or below `revision` goes when no event after `revision` can need it: it is a tombstone
    (nothing points back at a tombstone: a re-creation has no prev), or the key's next row is also
    at or below `revision` (the next row is the only one pointing back at it, as its prev). So the
    live rows stay, and so does the prev of every event after `revision`.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("UPDATE meta SET value = max(value, ?) WHERE name = 'compact_rev'", (revision,))
        deleted = conn.execute(
            """DELETE FROM log WHERE rev <= :rev AND (deleted = 1 OR rev IN (
                   SELECT prev_rev FROM log WHERE rev <= :rev AND prev_rev IS NOT NULL))""",
            {"rev": revision}).rowcount
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return int(deleted)


def _compact_revision(conn: sqlite3.Connection) -> int:
    row = conn.execute("SELECT value FROM meta WHERE name = 'compact_rev'").fetchone()
    return int(row[0]) if row is not None else 0
