"""Watch: ordered events from a resourceVersion, across restarts; expiry after compaction; bookmarks."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from controlplane.api import codec, kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.client import ApiClient, WatchEvent
from tests.support.daemon import ApiServerProcess
from tests.support.samples import sample
from tests.support.wait import eventually

CONFIGMAP = kinds.by_kind("ConfigMap")


def _config_map(name: str, value: str = "1"):
    document = sample("ConfigMap")
    document["metadata"] = {"name": name, "labels": {"app": "watch"}}
    document["data"] = {"value": value}
    return codec.decode_object(document)


async def _collect(stream, into: list[WatchEvent], until: int) -> None:
    async for event in stream:
        into.append(event)
        if len(into) >= until:
            return


async def test_watch_delivers_added_modified_deleted_in_revision_order(api: ApiClient) -> None:
    _, start = await api.list(CONFIGMAP, "default")
    seen: list[WatchEvent] = []
    watcher = asyncio.create_task(_collect(api.watch(CONFIGMAP, "default", resource_version=start), seen, 4))
    created = await api.create(_config_map("a"))
    created.data["value"] = "2"
    modified = await api.update(created)
    other = await api.create(_config_map("b"))
    deleted, _ = await api.delete(CONFIGMAP, "default", "a")
    await asyncio.wait_for(watcher, 10)
    assert [(e.type, e.object.metadata.name) for e in seen] == [
        ("ADDED", "a"), ("MODIFIED", "a"), ("ADDED", "b"), ("DELETED", "a")]
    assert [e.resource_version for e in seen] == [created.metadata.resource_version,
                                                  modified.metadata.resource_version,
                                                  other.metadata.resource_version,
                                                  deleted.metadata.resource_version]
    assert seen[1].object.data["value"] == "2"


async def test_watch_without_a_version_starts_with_the_current_objects(api: ApiClient) -> None:
    for name in ("x", "y"):
        await api.create(_config_map(name))
    seen: list[WatchEvent] = []
    await asyncio.wait_for(_collect(api.watch(CONFIGMAP, "default"), seen, 2), 10)
    assert sorted((e.type, e.object.metadata.name) for e in seen) == [("ADDED", "x"), ("ADDED", "y")]


async def test_selector_watch_sees_objects_enter_and_leave(api: ApiClient) -> None:
    _, start = await api.list(CONFIGMAP, "default")
    seen: list[WatchEvent] = []
    watcher = asyncio.create_task(_collect(
        api.watch(CONFIGMAP, "default", resource_version=start, label_selector="app=watch"), seen, 3))
    obj = await api.create(_config_map("m"))
    obj.metadata.labels["app"] = "elsewhere"
    obj = await api.update(obj)
    obj.data["value"] = "ignored while outside"
    obj = await api.update(obj)
    obj.metadata.labels["app"] = "watch"
    await api.update(obj)
    await asyncio.wait_for(watcher, 10)
    assert [e.type for e in seen] == ["ADDED", "DELETED", "ADDED"]


@pytest.mark.slow
async def test_watch_resumes_across_an_api_server_restart_with_nothing_missed_or_repeated(
        apiserver: ApiServerProcess) -> None:
    writes: list[str] = []  # resourceVersions of acknowledged writes, in order
    seen: list[WatchEvent] = []

    async def write_some(client: ApiClient, first: int, count: int) -> None:
        for number in range(first, first + count):
            obj = await client.create(_config_map(f"cm-{number}"))
            writes.append(obj.metadata.resource_version)
            if number % 3 == 0:
                obj.data["value"] = "changed"
                writes.append((await client.update(obj)).metadata.resource_version)
            if number % 5 == 0:
                deleted, _ = await client.delete(CONFIGMAP, "default", obj.metadata.name)
                writes.append(deleted.metadata.resource_version)

    async def watch_from(client: ApiClient, version: str) -> None:
        try:
            async for event in client.watch(CONFIGMAP, "default", resource_version=version):
                seen.append(event)
        except ApiError as error:
            assert error.reason is Reason.UNAVAILABLE, error

    client = apiserver.client()
    _, start = await client.list(CONFIGMAP, "default")
    watcher = asyncio.create_task(watch_from(client, start))
    await write_some(client, 0, 40)
    await eventually(lambda: _all_seen(seen, writes), timeout=10, what="the first writes to be watched")
    apiserver.kill()
    await asyncio.wait_for(watcher, 10)  # the stream ends with the server
    await client.close()

    apiserver.start()
    client = apiserver.client()
    try:
        watcher = asyncio.create_task(watch_from(client, seen[-1].resource_version))
        await write_some(client, 40, 40)
        await eventually(lambda: _all_seen(seen, writes), timeout=10, what="the writes after the restart")
        watcher.cancel()
    finally:
        await client.close()
    versions = [int(e.resource_version) for e in seen]
    assert versions == sorted(set(versions)), "events out of order or repeated"
    assert [e.resource_version for e in seen] == writes


async def _all_seen(seen: list[WatchEvent], writes: list[str]) -> bool:
    return len(seen) >= len(writes)


async def test_watching_from_a_compacted_revision_is_expired(api: ApiClient) -> None:
    first = await api.create(_config_map("old"))
    for number in range(5):
        await api.create(_config_map(f"new-{number}"))
    info = await api.server_info()
    await api.compact(info.revision - 1)
    with pytest.raises(ApiError) as expired:
        async for _ in api.watch(CONFIGMAP, "default", resource_version=first.metadata.resource_version):
            pass
    assert expired.value.reason is Reason.EXPIRED
    assert expired.value.message == f"too old resource version: {first.metadata.resource_version} ({info.revision - 1})"
    seen: list[WatchEvent] = []
    watcher = asyncio.create_task(_collect(
        api.watch(CONFIGMAP, "default", resource_version=str(info.revision - 1)), seen, 1))
    await asyncio.wait_for(watcher, 10)
    assert seen[0].object.metadata.name == "new-4", "history after the compacted revision is still there"


async def test_idle_watchers_get_bookmarks_with_the_newest_revision(tmp_path: Path) -> None:
    server = ApiServerProcess(tmp_path / "data", tmp_path / "log", "--bookmark-interval", "0.2")
    server.start()
    client = server.client()
    try:
        await client.create(_config_map("before"))
        _, version = await client.list(CONFIGMAP, "default")
        await client.create(codec.decode_object(sample("Secret")))  # a change elsewhere moves the revision
        seen: list[WatchEvent] = []
        stream = client.watch(CONFIGMAP, "default", resource_version=version, allow_bookmarks=True)
        await asyncio.wait_for(_collect(stream, seen, 1), 10)
        info = await client.server_info()
        assert seen[0].type == "BOOKMARK"
        assert int(version) < int(seen[0].resource_version) <= info.revision
        assert seen[0].object.metadata.resource_version == seen[0].resource_version
    finally:
        await client.close()
        server.kill()
