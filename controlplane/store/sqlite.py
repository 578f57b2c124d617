"""The store on an embedded SQLite file, with group commit.

The API server is the only writer, so the current value of every key lives in memory (loaded at
open) and reads never touch the file. Writes queue up; one batcher task takes everything queued,
checks each write's precondition against memory plus the earlier writes of the batch, and writes
the survivors in one transaction (one fsync) on the thread that owns the connection. Only after
the commit returned does memory change, the watchers hear of it, and the writers get their answer.
"""

from __future__ import annotations

import asyncio
import builtins
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import structlog

from controlplane.store import sqlite_schema
from controlplane.store.batch import Write, plan
from controlplane.store.interface import Compacted, Event, KeyValue, StoreError
from controlplane.store.keyspace import KeySpace
from controlplane.store.ring import EventRing
from controlplane.store.sqlite_schema import DURABLE_PRAGMAS
from controlplane.store.watch import StoreWatch, WatchHub

__all__ = ["DURABLE_PRAGMAS", "SqliteStore", "open_sqlite_store"]

log = structlog.get_logger("store")

RECENT_EVENTS = 10_000  # events kept in memory for watches catching up from a recent revision

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Pending:
    write: Write
    answer: asyncio.Future[KeyValue]


class SqliteStore:
    """Open with `open_sqlite_store`; close with `await store.close()`."""

    def __init__(self, path: Path, writer: ThreadPoolExecutor, conn: sqlite3.Connection,
                 loaded: sqlite_schema.Loaded, *, watch_queue_size: int, max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, not {max_batch}")
        self.path = path
        self.commit_count = 0  # transactions committed by the batcher since open
        self._writer = writer  # one thread; the only user of `_conn`
        self._conn = conn
        self._revision = loaded.revision
        self._compact_revision = loaded.compact_revision
        self._keys = KeySpace(loaded.current)
        self._recent = EventRing(RECENT_EVENTS)
        self._hub = WatchHub(loaded.revision, self._read_history, watch_queue_size)
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._closed = False
        self._batcher: asyncio.Task[None] | None = None

    def _start(self) -> None:
        self._batcher = asyncio.get_running_loop().create_task(self._run_batches(), name="store-batcher")

    # ------------------------------------------------------------------------------------ reads

    @property
    def revision(self) -> int:
        return self._revision

    @property
    def compact_revision(self) -> int:
        return self._compact_revision

    async def get(self, key: str) -> KeyValue | None:
        return self._keys.get(key)

    async def list(self, prefix: str) -> tuple[builtins.list[KeyValue], int]:
        return self._keys.under(prefix), self._revision

    # ------------------------------------------------------------------------------------ writes

    async def create(self, key: str, value: bytes) -> KeyValue:
        return await self._submit(Write("create", key, value))

    async def update(self, key: str, value: bytes, expected_mod_revision: int | None = None) -> KeyValue:
        return await self._submit(Write("update", key, value, expected_mod_revision))

    async def delete(self, key: str, expected_mod_revision: int | None = None) -> KeyValue:
        return await self._submit(Write("delete", key, b"", expected_mod_revision))

    async def _submit(self, write: Write) -> KeyValue:
        """Queue the write for the next group commit and wait for its outcome. A caller cancelled while
        its write is being committed does not learn the outcome, but the write may have happened."""
        if self._closed:
            raise StoreError(f"the store is closed: {write.op} of {write.key!r} not done")
        if self._batcher is None or self._batcher.done():
            raise StoreError(f"the store's writer stopped (see the log): {write.op} of {write.key!r} "
                             "not done")
        answer: asyncio.Future[KeyValue] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Pending(write, answer))
        return await answer

    async def _run_batches(self) -> None:
        try:
            while True:
                batch = [await self._queue.get()]
                while len(batch) < self._max_batch and not self._queue.empty():
                    batch.append(self._queue.get_nowait())
                batch = [p for p in batch if not p.answer.done()]  # skip writers that gave up
                try:
                    await self._commit(batch)
                except Exception as error:
                    log.exception("store.writer_failed", path=str(self.path))
                    for pending in batch:
                        _answer(pending.answer, StoreError(f"{pending.write.op} of {pending.write.key!r}: "
                                                           f"the store's writer failed: {error}"), error)
                    raise
        finally:
            self._fail_queued("the store's writer stopped")

    async def _commit(self, batch: builtins.list[_Pending]) -> None:
        outcomes = plan([p.write for p in batch], self._keys.get, self._revision)
        events = [o for o in outcomes if isinstance(o, Event)]
        interrupted = False
        if events:
            job = self._on_writer(sqlite_schema.append, self._conn, events)
            interrupted = await _run_to_end(job)
            error = job.exception()
            if error is not None:
                log.error("store.commit_failed", path=str(self.path), writes=len(batch), error=str(error))
                for pending in batch:
                    _answer(pending.answer, StoreError(
                        f"{pending.write.op} of {pending.write.key!r} not committed: {error}"), error)
                if interrupted:
                    raise asyncio.CancelledError
                return
            self.commit_count += 1
            for event in events:
                self._keys.apply(event)
            self._revision = events[-1].revision
            self._recent.extend(events)
            self._hub.publish(events)
        for pending, outcome in zip(batch, outcomes, strict=True):
            _answer(pending.answer, outcome.kv if isinstance(outcome, Event) else outcome)
        if interrupted:
            raise asyncio.CancelledError

    def _fail_queued(self, why: str) -> None:
        while not self._queue.empty():
            pending = self._queue.get_nowait()
            write = pending.write
            _answer(pending.answer, StoreError(f"{why}: {write.op} of {write.key!r} not done"))

    # ------------------------------------------------------------------------------------ watch

    def watch(self, prefix: str, after_revision: int) -> StoreWatch:
        if after_revision < 0:
            raise ValueError(f"a watch starts after a revision >= 0, not {after_revision}")
        if self._closed:
            raise StoreError("the store is closed: no new watch")
        if after_revision < self._compact_revision:
            return WatchHub.refused(prefix, Compacted(after_revision, self._compact_revision))
        return self._hub.register(prefix, after_revision)

    def _read_history(self, prefix: str, after: int, upto: int,
                      limit: int) -> asyncio.Future[builtins.list[Event]]:
        page = self._recent.page(prefix, after, upto, limit)
        if page is not None:
            done: asyncio.Future[builtins.list[Event]] = asyncio.get_running_loop().create_future()
            done.set_result(page)
            return done
        return self._on_writer(sqlite_schema.read_history, self._conn, prefix, after, upto, limit)

    # ------------------------------------------------------------------------------------ upkeep

    async def compact(self, revision: int) -> None:
        if revision > self._revision:
            raise ValueError(f"cannot compact to revision {revision}: the newest is {self._revision}")
        if revision <= self._compact_revision:
            return
        if self._closed:
            raise StoreError("the store is closed: no compaction")
        job = self._on_writer(sqlite_schema.compact, self._conn, revision)
        interrupted = await _run_to_end(job)
        if job.exception() is None:
            self._compact_revision = max(self._compact_revision, revision)
            log.debug("store.history_forgotten", revision=revision, rows=job.result())
        if interrupted:
            raise asyncio.CancelledError
        job.result()  # raises the compaction's error

    async def close(self) -> None:
        """Finish the commit in progress, fail the writes still queued, end the watchers, close the file."""
        if self._closed:
            return
        self._closed = True
        if self._batcher is not None:
            self._batcher.cancel()
            await asyncio.wait([self._batcher])
            if not self._batcher.cancelled():
                self._batcher.exception()  # a writer failure: already logged and answered by the batcher
        self._fail_queued("the store closed")
        self._hub.close()
        try:
            await self._on_writer(self._conn.close)
        finally:
            self._writer.shutdown(wait=False)
        log.info("store.closed", path=str(self.path), revision=self._revision)

    def _on_writer(self, job: Callable[..., T], *args: object) -> asyncio.Future[T]:
        return asyncio.get_running_loop().run_in_executor(self._writer, job, *args)


async def open_sqlite_store(path: Path, *, watch_queue_size: int = 10_000,
                            max_batch: int = 1024) -> SqliteStore:
    """Open (or create) the store at `path`: its state, revisions and retained history come back."""
    writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="store-writer")
    loop = asyncio.get_running_loop()
    try:
        conn = await loop.run_in_executor(writer, sqlite_schema.connect, path)
        try:
            loaded = await loop.run_in_executor(writer, sqlite_schema.load, conn)
            store = SqliteStore(path, writer, conn, loaded,
                                watch_queue_size=watch_queue_size, max_batch=max_batch)
        except BaseException:
            await asyncio.shield(loop.run_in_executor(writer, conn.close))
            raise
    except BaseException:
        writer.shutdown(wait=False)
        raise
    store._start()
    log.info("store.opened", path=str(path), revision=loaded.revision, keys=len(loaded.current),
             compact_revision=loaded.compact_revision)
    return store


async def _run_to_end(job: asyncio.Future[T]) -> bool:
    """Wait for a writer-thread job to finish even when cancelled meanwhile, since memory must follow
    what the file did. Returns whether a cancellation came: the caller re-raises it once done."""
    interrupted = False
    while not job.done():
        try:
            await asyncio.wait([job])
        except asyncio.CancelledError:
            interrupted = True
    return interrupted


def _answer(answer: asyncio.Future[KeyValue], outcome: KeyValue | StoreError,
            cause: BaseException | None = None) -> None:
    if answer.done():
        return  # the writer gave up (cancelled) meanwhile
    if isinstance(outcome, KeyValue):
        answer.set_result(outcome)
    else:
        if cause is not None:
            outcome.__cause__ = cause
        answer.set_exception(outcome)
