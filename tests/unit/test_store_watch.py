"""Watching the SQLite store: catch-up from history (memory or disk), live events, compaction, slow watchers."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from controlplane.store import (
    Compacted,
    Event,
    KeyValue,
    SqliteStore,
    Watch,
    WatcherTooSlow,
    open_sqlite_store,
)
from controlplane.store import watch as watch_module
from controlplane.store.ring import EventRing


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await open_sqlite_store(tmp_path / "store.db")
    try:
        yield opened
    finally:
        await opened.close()


async def take(watch: Watch, count: int, timeout: float = 5.0) -> list[Event]:
    """The next `count` events; on timeout, says how many came and the last one."""
    got: list[Event] = []
    try:
        async with asyncio.timeout(timeout):
            while len(got) < count:
                got.append(await watch.__anext__())
    except TimeoutError:
        raise AssertionError(f"got {len(got)} of {count} events in {timeout}s; last: "
                             f"{got[-1] if got else None}") from None
    return got


async def take_until(watch: Watch, revision: int, timeout: float = 10.0) -> list[Event]:
    """Events up to and including `revision`."""
    got: list[Event] = []
    try:
        async with asyncio.timeout(timeout):
            while not got or got[-1].revision < revision:
                got.append(await watch.__anext__())
    except TimeoutError:
        raise AssertionError(f"waited for revision {revision}; got {len(got)} events, last: "
                             f"{got[-1].revision if got else None}") from None
    return got


def summary(events: list[Event]) -> list[tuple[str, str, int, int | None]]:
    return [(e.type, e.kv.key, e.revision, e.prev.mod_revision if e.prev else None) for e in events]


async def write_story(store: SqliteStore) -> None:
    """Revisions 1..6 on two prefixes."""
    await store.create("/pods/a", b"a1")      # 1
    await store.create("/svc/x", b"x1")       # 2
    await store.update("/pods/a", b"a2")      # 3
    await store.create("/pods/b", b"b1")      # 4
    await store.delete("/pods/a")             # 5
    await store.update("/svc/x", b"x2")       # 6


STORY = [
    ("PUT", "/pods/a", 1, None),
    ("PUT", "/svc/x", 2, None),
    ("PUT", "/pods/a", 3, 1),
    ("PUT", "/pods/b", 4, None),
    ("DELETE", "/pods/a", 5, 3),
    ("PUT", "/svc/x", 6, 2),
]


# ------------------------------------------------------------------------------ the ring (pure)

def put(key: str, revision: int) -> Event:
    return Event("PUT", KeyValue(key, b"", revision, revision), None)


def test_ring_answers_only_ranges_whose_first_revision_it_still_holds() -> None:
    ring = EventRing(3)
    ring.extend([put("/a", 5), put("/b", 6), put("/a", 7), put("/a", 8)])  # 5 falls out
    assert ring.page("", 4, 8, 10) is None
    assert [e.revision for e in ring.page("", 5, 8, 10) or []] == [6, 7, 8]
    assert [e.revision for e in ring.page("/a", 5, 8, 10) or []] == [7, 8]
    assert [e.revision for e in ring.page("/a", 5, 8, 1) or []] == [7]
    assert ring.page("", 8, 8, 10) == []
    assert ring.page("", 6, 9, 10) is None, "not yet holding revision 9"


def test_ring_refuses_a_gap_in_revisions() -> None:
    ring = EventRing(3)
    ring.extend([put("/a", 1)])
    with pytest.raises(ValueError, match="does not follow"):
        ring.extend([put("/a", 3)])


# ------------------------------------------------------------------------------ catch-up and live

async def test_watch_from_zero_sees_every_event_in_order_with_prev_values(store: SqliteStore) -> None:
    await write_story(store)
    watch = store.watch("", 0)
    assert summary(await take(watch, 6)) == STORY
    await store.create("/pods/c", b"c1")
    [live] = await take(watch, 1)
    assert (live.type, live.kv, live.prev) == ("PUT", KeyValue("/pods/c", b"c1", 7, 7), None)
    await watch.aclose()


async def test_a_delete_event_carries_the_last_value_and_the_deletion_revision(store: SqliteStore) -> None:
    watch = store.watch("/pods/", 0)
    await write_story(store)
    events = await take(watch, 4)
    delete = events[-1]
    assert delete.type == "DELETE"
    assert delete.kv == KeyValue("/pods/a", b"a2", 5, 1)
    assert delete.prev == KeyValue("/pods/a", b"a2", 3, 1)
    await watch.aclose()


async def test_watch_filters_by_key_prefix(store: SqliteStore) -> None:
    await write_story(store)
    watch = store.watch("/pods/", 0)
    assert summary(await take(watch, 4)) == [e for e in STORY if e[1].startswith("/pods/")]
    await watch.aclose()


async def test_watch_from_a_middle_revision_after_reopening_reads_history_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = await open_sqlite_store(path)
    await write_story(store)
    await store.close()

    store = await open_sqlite_store(path)
    try:
        watch = store.watch("", 2)
        events = await take(watch, 4)
        assert summary(events) == STORY[2:]
        assert events[0].prev == KeyValue("/pods/a", b"a1", 1, 1)
        assert events[3].prev == KeyValue("/svc/x", b"x1", 2, 2)
        await store.update("/pods/b", b"b2")
        [live] = await take(watch, 1)
        assert (live.revision, live.prev) == (7, KeyValue("/pods/b", b"b1", 4, 4))
        await watch.aclose()
    finally:
        await store.close()


async def test_catch_up_from_disk_spans_many_pages(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(watch_module, "HISTORY_PAGE", 7)
    path = tmp_path / "store.db"
    store = await open_sqlite_store(path)
    await asyncio.gather(*(store.create(f"/k/{i}", b"") for i in range(100)))
    await store.close()

    store = await open_sqlite_store(path)
    try:
        everything = store.watch("", 10)
        assert [e.revision for e in await take(everything, 90)] == list(range(11, 101))
        some = store.watch("/k/1", 0)  # /k/1, /k/10../k/19
        assert len(await take(some, 11)) == 11
        assert await some.next_within(0.05) is None
        await everything.aclose()
        await some.aclose()
    finally:
        await store.close()


async def test_watch_from_beyond_the_current_revision_waits_for_later_events(store: SqliteStore) -> None:
    await store.create("a", b"")
    watch = store.watch("", 3)
    await store.create("b", b"")  # 2
    await store.create("c", b"")  # 3
    await store.create("d", b"")  # 4
    assert [e.kv.key for e in await take(watch, 1)] == ["d"]
    await watch.aclose()


async def check_no_gap_or_duplicate_while_writing(store: SqliteStore, start_revisions: list[int]) -> None:
    """16 writers write while watches start from various revisions; each sees exactly (start, end]."""
    stop = asyncio.Event()
    watches: list[tuple[int, Watch]] = []

    async def writer(n: int) -> None:
        i = 0
        while not stop.is_set():
            key = f"/race/{n}/{i % 5}"
            if await store.get(key) is None:
                await store.create(key, b"v")
            else:
                await store.update(key, str(i).encode())
            i += 1

    async def starter() -> None:
        for start in start_revisions:
            while store.revision < start + 20:
                await asyncio.sleep(0)
            watches.append((start, store.watch("/race/", start)))
            await asyncio.sleep(random.random() / 100)
        stop.set()

    async with asyncio.TaskGroup() as group:
        for n in range(16):
            group.create_task(writer(n))
        group.create_task(starter())

    end = store.revision
    for start, watch in watches:
        revisions = [e.revision for e in await take_until(watch, end)]
        assert revisions == list(range(start + 1, end + 1)), f"watch from {start}: gap or duplicate"
        assert await watch.next_within(0.01) is None
        await watch.aclose()


async def test_catch_up_from_memory_racing_with_writes_has_no_gap_or_duplicate(store: SqliteStore) -> None:
    await check_no_gap_or_duplicate_while_writing(store, [0, 5, 50, 100, 200, 400, 800])


async def test_catch_up_from_disk_racing_with_writes_has_no_gap_or_duplicate(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = await open_sqlite_store(path)
    await asyncio.gather(*(store.create(f"/race/old/{i}", b"") for i in range(300)))
    await store.close()
    store = await open_sqlite_store(path)  # the ring starts empty: history up to 300 is on disk only
    try:
        await check_no_gap_or_duplicate_while_writing(store, [0, 10, 150, 290, 320, 500])
    finally:
        await store.close()


# ------------------------------------------------------------------------------ compaction

async def test_watch_from_before_the_compact_revision_is_refused_and_from_it_is_complete(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = await open_sqlite_store(path)
    await write_story(store)
    await store.compact(3)

    with pytest.raises(Compacted) as refused:
        await anext(aiter(store.watch("", 2)))
    assert (refused.value.requested, refused.value.compact_revision) == (2, 3)

    at_compaction = store.watch("", 3)
    assert summary(await take(at_compaction, 3)) == STORY[3:]
    await at_compaction.aclose()
    await store.close()

    store = await open_sqlite_store(path)  # from disk now, with the rows compaction left
    try:
        assert store.compact_revision == 3
        with pytest.raises(Compacted):
            await anext(aiter(store.watch("", 0)))
        events = await take(store.watch("", 3), 3)
        assert summary(events) == STORY[3:]
        assert events[1].prev == KeyValue("/pods/a", b"a2", 3, 1), "the prev of a retained event survives"
        assert events[2].prev == KeyValue("/svc/x", b"x1", 2, 2)
    finally:
        await store.close()


async def test_compaction_between_registration_and_catch_up_raises_compacted_not_a_gap(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = await open_sqlite_store(path)
    await write_story(store)
    await store.close()
    store = await open_sqlite_store(path)
    try:
        watch = store.watch("", 1)
        await store.compact(5)
        with pytest.raises(Compacted) as refused:
            await anext(aiter(watch))
        assert (refused.value.requested, refused.value.compact_revision) == (1, 5)
        await watch.aclose()
    finally:
        await store.close()


# ------------------------------------------------------------------------------ slow watchers, idle, close

async def test_a_watcher_that_falls_behind_gets_what_it_had_then_watcher_too_slow(tmp_path: Path) -> None:
    store = await open_sqlite_store(tmp_path / "store.db", watch_queue_size=5)
    try:
        slow = store.watch("", 0)
        fast = store.watch("", 0)
        for i in range(8):
            await store.create(f"k{i}", b"")
            await take(fast, 1)
        assert [e.revision for e in await take(slow, 5)] == [1, 2, 3, 4, 5]
        with pytest.raises(WatcherTooSlow, match="after revision 5"):
            await anext(aiter(slow))
        await store.create("k8", b"")
        assert [e.revision for e in await take(fast, 1)] == [9], "the other watcher goes on"
        await slow.aclose()
        await fast.aclose()
    finally:
        await store.close()


async def test_next_within_times_out_without_losing_events_and_idle_revision_follows_the_store(
        store: SqliteStore) -> None:
    await store.create("/other/x", b"")
    watch = store.watch("/mine/", 0)
    assert await watch.next_within(0.01) is None
    assert watch.idle_revision() == 1, "nothing under /mine/ up to revision 1"
    await store.create("/mine/a", b"")
    event = await watch.next_within(1.0)
    assert isinstance(event, Event) and event.revision == 2
    await store.create("/other/y", b"")
    assert await watch.next_within(0.01) is None
    assert watch.idle_revision() == 3
    await watch.aclose()
    assert await watch.next_within(0.01) is StopAsyncIteration


async def test_close_ends_every_watcher(tmp_path: Path) -> None:
    store = await open_sqlite_store(tmp_path / "store.db")
    await store.create("a", b"")
    watch = store.watch("", 0)
    assert len(await take(watch, 1)) == 1

    async def drain() -> list[Event]:
        return [event async for event in watch]

    async with asyncio.TaskGroup() as group:
        rest = group.create_task(drain())
        await asyncio.sleep(0.01)
        await store.close()
    assert rest.result() == []


async def test_aclose_stops_the_iteration_and_unregisters(store: SqliteStore) -> None:
    watch = store.watch("", 0)
    await watch.aclose()
    await store.create("a", b"")
    with pytest.raises(StopAsyncIteration):
        await anext(aiter(watch))
