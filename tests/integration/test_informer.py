"""The watch cache every controller stands on, against a real API server: it fills, follows, indexes,
and after a gap it cannot resume (compaction) or an API server restart it ends up right, telling
its handlers about every difference, deletions included."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from controlplane.api import codec, kinds
from controlplane.client import ApiClient
from controlplane.client.informer import Informer, object_key
from tests.support.daemon import ApiServerProcess
from tests.support.wait import eventually

CONFIGMAP = kinds.by_kind("ConfigMap")


def _config_map(name: str, team: str = "a"):
    return codec.decode_object({"apiVersion": "v1", "kind": "ConfigMap",
                                "metadata": {"name": name, "labels": {"team": team}}, "data": {"k": "v"}})


class Recorder:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def __call__(self, old, new) -> None:
        if old is None:
            self.events.append(("added", object_key(new)))
        elif new is None:
            self.events.append(("deleted", object_key(old)))
        elif old is not new:
            self.events.append(("updated", object_key(new)))


@contextlib.asynccontextmanager
async def running(informer: Informer) -> AsyncIterator[Informer]:
    task = asyncio.create_task(informer.run())
    try:
        await asyncio.wait_for(informer.wait_synced(), 10)
        yield informer
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_fills_from_a_list_then_follows_adds_updates_and_deletes(api: ApiClient) -> None:
    await api.create(_config_map("one"))
    informer = Informer(api, CONFIGMAP, namespace="default")
    informer.add_index("team", lambda cm: [cm.metadata.labels.get("team", "")])
    recorder = Recorder()
    informer.add_handler(recorder)
    async with running(informer):
        assert informer.get("default", "one") is not None
        two = await api.create(_config_map("two", team="b"))
        two.metadata.labels["team"] = "a"
        await api.update(two)
        await api.delete(CONFIGMAP, "default", "one")

        async def settled() -> bool:
            return informer.get("default", "one") is None and informer.get("default", "two") is not None \
                and informer.get("default", "two").metadata.labels["team"] == "a"

        await eventually(settled, timeout=10, what="the cache to follow the writes")
        assert recorder.events == [("added", "default/one"), ("added", "default/two"),
                                   ("updated", "default/two"), ("deleted", "default/one")]
        assert [cm.metadata.name for cm in informer.by_index("team", "a")] == ["two"]
        assert informer.by_index("team", "b") == []
        assert [cm.metadata.name for cm in informer.list("default")] == ["two"]


async def test_after_a_compacted_gap_a_relist_reports_what_changed_meanwhile(api: ApiClient) -> None:
    for name in ("stays", "goes"):
        await api.create(_config_map(name))
    informer = Informer(api, CONFIGMAP, namespace="default")
    recorder = Recorder()
    informer.add_handler(recorder)
    async with running(informer):
        pass
    # Offline: a deletion and a creation the informer never sees as events, then the history is gone.
    await api.delete(CONFIGMAP, "default", "goes")
    created = await api.create(_config_map("new"))
    await api.compact(int(created.metadata.resource_version))
    recorder.events.clear()
    async with running(informer):
        await eventually(lambda: _async(informer.get("default", "new") is not None), timeout=10,
                         what="the relist after the watch expired")
        assert informer.get("default", "goes") is None
        assert sorted(recorder.events) == [("added", "default/new"), ("deleted", "default/goes")]


async def test_follows_again_after_the_api_server_restarts(apiserver: ApiServerProcess) -> None:
    client = apiserver.client(timeout=2)
    try:
        informer = Informer(client, CONFIGMAP, namespace="default")
        async with running(informer):
            apiserver.kill()
            apiserver.start()
            await client.create(_config_map("after"))
            await eventually(lambda: _async(informer.get("default", "after") is not None), timeout=15,
                             what="the informer to see a write made after the restart")
    finally:
        await client.close()


async def _async(value: bool) -> bool:
    return value
