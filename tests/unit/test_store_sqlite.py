"""The SQLite store: compare-and-swap writes, group commit, durability settings, reopen, compaction."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path

import pytest

from controlplane.store import (
    DURABLE_PRAGMAS,
    Event,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RevisionConflict,
    SqliteStore,
    StoreError,
    open_sqlite_store,
    sqlite_schema,
)
from controlplane.store.batch import Write, plan
from controlplane.store.keyspace import KeySpace


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    opened = await open_sqlite_store(tmp_path / "store.db")
    try:
        yield opened
    finally:
        await opened.close()


def log_rows(path: Path) -> list[tuple[int, str, int, int | None, int]]:
    """(rev, key, create_rev, prev_rev, deleted) of every history row, read from a closed store's file."""
    with closing(sqlite3.connect(path)) as conn:
        return conn.execute("SELECT rev, key, create_rev, prev_rev, deleted FROM log ORDER BY rev").fetchall()


# ------------------------------------------------------------------------------ the batch planner (pure)

A1 = KeyValue("a", b"1", 7, 3)


@pytest.mark.parametrize(("writes", "expected"), [
    pytest.param([Write("create", "b", b"x")], ["PUT b@11 created 11 prev None"], id="create-new-key"),
    pytest.param([Write("create", "a", b"x")], ["KeyExists"], id="create-existing-key"),
    pytest.param([Write("update", "a", b"2")], ["PUT a@11 created 3 prev 7"], id="unconditional-update"),
    pytest.param([Write("update", "a", b"2", 7)], ["PUT a@11 created 3 prev 7"], id="update-at-current-revision"),
    pytest.param([Write("update", "a", b"2", 6)], ["RevisionConflict"], id="update-at-stale-revision"),
    pytest.param([Write("update", "b", b"2")], ["KeyNotFound"], id="update-missing-key"),
    pytest.param([Write("delete", "a", b"", 7)], ["DELETE a@11 created 3 prev 7"], id="delete-returns-last-value"),
    pytest.param([Write("delete", "b")], ["KeyNotFound"], id="delete-missing-key"),
    pytest.param([Write("create", "b", b"x"), Write("create", "b", b"y")],
                 ["PUT b@11 created 11 prev None", "KeyExists"], id="second-create-sees-the-first"),
    pytest.param([Write("create", "a"), Write("update", "a", b"2", 7), Write("update", "a", b"3", 11)],
                 ["KeyExists", "PUT a@11 created 3 prev 7", "PUT a@12 created 3 prev 11"],
                 id="failed-write-takes-no-revision-and-later-writes-see-earlier-ones"),
    pytest.param([Write("delete", "a"), Write("create", "a", b"new"), Write("update", "a", b"2", 7)],
                 ["DELETE a@11 created 3 prev 7", "PUT a@12 created 12 prev None", "RevisionConflict"],
                 id="delete-then-recreate-in-one-batch"),
])
def test_plan_checks_each_write_against_state_plus_earlier_writes_of_the_batch(
        writes: list[Write], expected: list[str]) -> None:
    outcomes = plan(writes, {"a": A1}.get, revision=10)

    def show(outcome: Event | StoreError) -> str:
        if isinstance(outcome, StoreError):
            return type(outcome).__name__
        kv, prev = outcome.kv, outcome.prev.mod_revision if outcome.prev else None
        return f"{outcome.type} {kv.key}@{kv.mod_revision} created {kv.create_revision} prev {prev}"

    assert [show(o) for o in outcomes] == expected


def test_plan_of_a_delete_carries_the_last_value() -> None:
    [outcome] = plan([Write("delete", "a")], {"a": A1}.get, revision=10)
    assert outcome == Event("DELETE", KeyValue("a", b"1", 11, 3), A1)


def test_keyspace_lists_a_prefix_in_key_order_and_forgets_deleted_keys() -> None:
    space = KeySpace([KeyValue("/b/2", b"", 1, 1), KeyValue("/a/1", b"", 2, 2)])
    space.apply(Event("PUT", KeyValue("/b/1", b"", 3, 3), None))
    space.apply(Event("PUT", KeyValue("/b", b"", 4, 4), None))
    space.apply(Event("DELETE", KeyValue("/b/2", b"", 5, 1), KeyValue("/b/2", b"", 1, 1)))
    assert [kv.key for kv in space.under("/b/")] == ["/b/1"]
    assert [kv.key for kv in space.under("/b")] == ["/b", "/b/1"]
    assert [kv.key for kv in space.under("")] == ["/a/1", "/b", "/b/1"]
    assert space.get("/b/2") is None
    assert len(space) == 3


# ------------------------------------------------------------------------------ reads and writes

async def test_create_get_list_update_delete_round_trip(store: SqliteStore) -> None:
    assert store.revision == 0
    created = await store.create("/pods/default/web", b"v1")
    assert created == KeyValue("/pods/default/web", b"v1", 1, 1)
    assert await store.get("/pods/default/web") == created

    updated = await store.update("/pods/default/web", b"v2", expected_mod_revision=1)
    assert updated == KeyValue("/pods/default/web", b"v2", 2, 1)
    assert await store.list("/pods/") == ([updated], 2)

    deleted = await store.delete("/pods/default/web")
    assert deleted == KeyValue("/pods/default/web", b"v2", 3, 1)
    assert await store.get("/pods/default/web") is None
    assert await store.list("/pods/") == ([], 3)
    assert store.revision == 3

    recreated = await store.create("/pods/default/web", b"v3")
    assert recreated == KeyValue("/pods/default/web", b"v3", 4, 4)


async def test_create_of_an_existing_key_is_refused(store: SqliteStore) -> None:
    await store.create("k", b"1")
    with pytest.raises(KeyExists) as refused:
        await store.create("k", b"2")
    assert refused.value.key == "k"
    assert (await store.get("k")) == KeyValue("k", b"1", 1, 1)
    assert store.revision == 1


async def test_update_or_delete_of_a_missing_key_is_refused(store: SqliteStore) -> None:
    with pytest.raises(KeyNotFound) as refused:
        await store.update("nope", b"x")
    assert refused.value.key == "nope"
    with pytest.raises(KeyNotFound):
        await store.delete("nope")
    assert store.revision == 0


async def test_update_with_a_stale_revision_writes_nothing(store: SqliteStore) -> None:
    await store.create("k", b"1")
    await store.update("k", b"2")
    commits = store.commit_count

    with pytest.raises(RevisionConflict) as conflict:
        await store.update("k", b"3", expected_mod_revision=1)
    assert (conflict.value.key, conflict.value.expected, conflict.value.actual) == ("k", 1, 2)
    with pytest.raises(RevisionConflict):
        await store.delete("k", expected_mod_revision=1)

    assert store.revision == 2
    assert store.commit_count == commits
    assert await store.get("k") == KeyValue("k", b"2", 2, 1)


async def test_list_returns_only_the_prefix_sorted_by_key(store: SqliteStore) -> None:
    for key in ["/svc/b", "/pods/z", "/pods/a", "/pods/m", "/podsx", "/a"]:
        await store.create(key, key.encode())
    items, revision = await store.list("/pods/")
    assert [kv.key for kv in items] == ["/pods/a", "/pods/m", "/pods/z"]
    assert revision == 6
    everything, _ = await store.list("")
    assert [kv.key for kv in everything] == sorted(["/svc/b", "/pods/z", "/pods/a", "/pods/m", "/podsx", "/a"])


# ------------------------------------------------------------------------------ group commit

async def test_concurrent_creates_share_few_commits_and_get_distinct_increasing_revisions(
        store: SqliteStore) -> None:
    created = await asyncio.gather(*(store.create(f"/k/{i:03}", b"x" * 100) for i in range(200)))
    assert sorted(kv.mod_revision for kv in created) == list(range(1, 201))
    assert [kv.mod_revision for kv in created] == sorted(kv.mod_revision for kv in created), \
        "writes queued in order are committed in order"
    assert store.commit_count <= 20, f"200 concurrent creates took {store.commit_count} commits"
    assert store.revision == 200


async def test_sixteen_writers_in_a_loop_commit_far_fewer_times_than_they_write(store: SqliteStore) -> None:
    async def writer(n: int) -> None:
        for i in range(25):
            await store.create(f"/w/{n}/{i}", b"x")

    async with asyncio.TaskGroup() as group:
        for n in range(16):
            group.create_task(writer(n))
    assert store.revision == 400
    assert store.commit_count <= 400 // 4, f"400 writes by 16 writers took {store.commit_count} commits"


async def test_a_refused_write_in_a_batch_does_not_fail_its_neighbours(store: SqliteStore) -> None:
    await store.create("taken", b"0")
    commits = store.commit_count
    results = await asyncio.gather(
        store.create("a", b"1"), store.create("taken", b"x"), store.create("b", b"2"),
        store.update("a", b"1b", expected_mod_revision=99), store.update("b", b"2b"),
        return_exceptions=True)
    assert results[0] == KeyValue("a", b"1", 2, 2)
    assert isinstance(results[1], KeyExists)
    assert results[2] == KeyValue("b", b"2", 3, 3)
    assert isinstance(results[3], RevisionConflict)
    assert results[4] == KeyValue("b", b"2b", 4, 3)
    assert store.commit_count == commits + 1


async def test_a_failed_commit_fails_every_write_of_the_batch_and_changes_nothing(
        store: SqliteStore, monkeypatch: pytest.MonkeyPatch) -> None:
    await store.create("kept", b"0")

    def disk_fails(conn: sqlite3.Connection, events: list[Event]) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sqlite_schema, "append", disk_fails)
    results = await asyncio.gather(store.create("a", b"1"), store.update("kept", b"1"), store.create("kept", b"x"),
                                   return_exceptions=True)
    for result in results:
        assert isinstance(result, StoreError)
        assert "disk I/O error" in str(result)
        assert isinstance(result.__cause__, sqlite3.OperationalError)
    assert store.revision == 1
    assert await store.list("") == ([KeyValue("kept", b"0", 1, 1)], 1)

    monkeypatch.undo()
    assert await store.create("a", b"1") == KeyValue("a", b"1", 2, 2)


async def test_a_writer_that_gives_up_does_not_break_the_batch(store: SqliteStore) -> None:
    doomed = asyncio.ensure_future(store.create("doomed", b"x"))
    others = [asyncio.ensure_future(store.create(f"k{i}", b"x")) for i in range(5)]
    await asyncio.sleep(0)
    doomed.cancel()
    created = await asyncio.gather(*others)
    assert [kv.key for kv in created] == [f"k{i}" for i in range(5)]
    assert len({kv.mod_revision for kv in created}) == 5


# ------------------------------------------------------------------------------ durability and files

def test_durable_pragmas_give_wal_and_full_sync(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "raw.db")
    try:
        for pragma in DURABLE_PRAGMAS:
            conn.execute(pragma)
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    finally:
        conn.close()


async def test_reopen_brings_back_revision_state_and_compact_revision(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = await open_sqlite_store(path)
    await store.create("/a", b"1")
    await store.create("/b", b"2")
    await store.update("/a", b"1b")
    await store.delete("/b")
    await store.create("/c", b"3")
    await store.compact(3)
    await store.close()

    with closing(sqlite3.connect(path)) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    store = await open_sqlite_store(path)
    try:
        assert (store.revision, store.compact_revision) == (5, 3)
        assert await store.list("") == ([KeyValue("/a", b"1b", 3, 1), KeyValue("/c", b"3", 5, 5)], 5)
        assert await store.create("/d", b"4") == KeyValue("/d", b"4", 6, 6)
    finally:
        await store.close()


async def test_revision_never_goes_back_even_when_compaction_removed_the_newest_row(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = await open_sqlite_store(path)
    await store.create("k", b"1")
    await store.delete("k")
    await store.compact(2)
    await store.close()
    assert log_rows(path) == [], "a tombstone at the compact revision and its predecessor both go"

    store = await open_sqlite_store(path)
    try:
        assert store.revision == 2
        assert (await store.create("k", b"again")).mod_revision == 3
    finally:
        await store.close()


async def test_a_second_store_on_the_same_file_is_refused_while_the_first_is_open(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_schema, "LOCK_TIMEOUT", 0.05)
    path = tmp_path / "store.db"
    first = await open_sqlite_store(path)
    try:
        with pytest.raises(StoreError, match="in use by another process"):
            await open_sqlite_store(path)
        assert await first.create("still-works", b"") is not None
    finally:
        await first.close()
    second = await open_sqlite_store(path)
    await second.close()


async def test_close_fails_queued_writes_and_refuses_new_ones(tmp_path: Path) -> None:
    store = await open_sqlite_store(tmp_path / "store.db")
    writes = [asyncio.ensure_future(store.create(f"k{i}", b"x")) for i in range(50)]
    await asyncio.sleep(0)
    await store.close()
    results = await asyncio.gather(*writes, return_exceptions=True)
    assert all(isinstance(r, KeyValue | StoreError) for r in results)
    with pytest.raises(StoreError, match="closed"):
        await store.create("late", b"x")
    await store.close()  # twice is fine

    reopened = await open_sqlite_store(tmp_path / "store.db")
    try:
        acknowledged = {r.key for r in results if isinstance(r, KeyValue)}
        items, _ = await reopened.list("")
        assert {kv.key for kv in items} == acknowledged
    finally:
        await reopened.close()


# ------------------------------------------------------------------------------ compaction

async def test_compaction_keeps_current_values_and_the_predecessor_of_every_retained_row(tmp_path: Path) -> None:
    path = tmp_path / "store.db"
    store = await open_sqlite_store(path)
    await store.create("a", b"a1")        # 1: superseded by 2 (<= 4): goes
    await store.update("a", b"a2")        # 2: superseded by 5 (> 4): stays, it is the prev of 5
    await store.create("b", b"b1")        # 3: current value: stays
    await store.create("c", b"c1")        # 4: superseded by its deletion 6 (> 4): stays
    await store.update("a", b"a3")        # 5: after the compact revision: stays
    await store.delete("c")               # 6: tombstone after the compact revision: stays
    await store.create("d", b"d1")        # 7
    await store.delete("d")               # 8
    await store.compact(4)
    await store.close()
    assert [row[0] for row in log_rows(path)] == [2, 3, 4, 5, 6, 7, 8]

    store = await open_sqlite_store(path)
    await store.compact(8)
    await store.close()
    # 2 goes (its successor 5 <= 8); 5 and 3 are current; c and d are deleted for good.
    assert [row[0] for row in log_rows(path)] == [3, 5]


async def test_compaction_refuses_the_future_and_ignores_the_past(store: SqliteStore) -> None:
    for i in range(5):
        await store.create(f"k{i}", b"")
    with pytest.raises(ValueError, match="newest is 5"):
        await store.compact(6)
    await store.compact(4)
    await store.compact(2)
    assert store.compact_revision == 4
    await store.compact(5)
    assert store.compact_revision == 5
