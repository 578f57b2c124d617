"""An acknowledged write survives `kill -9` of the API server."""

from __future__ import annotations

import asyncio

import pytest

from controlplane.api import codec, kinds
from controlplane.api.errors import ApiError
from controlplane.client import ApiClient
from tests.support.daemon import ApiServerProcess
from tests.support.samples import sample

WRITERS = 16


@pytest.mark.slow
async def test_every_acknowledged_write_is_there_after_kill_9(apiserver: ApiServerProcess) -> None:
    acknowledged: list[str] = []
    client = apiserver.client(timeout=5)

    async def writer(number: int) -> None:
        for sequence in range(1_000_000):
            document = sample("ConfigMap")
            document["metadata"] = {"name": f"w{number}-{sequence}"}
            try:
                await client.create(codec.decode_object(document))
            except ApiError:
                return  # the server is gone
            acknowledged.append(document["metadata"]["name"])

    writers = [asyncio.create_task(writer(n)) for n in range(WRITERS)]
    while len(acknowledged) < 300:
        await asyncio.sleep(0.05)
    apiserver.kill()
    killed_at = len(acknowledged)
    await asyncio.wait_for(asyncio.gather(*writers), 30)
    await client.close()

    apiserver.start()
    survivor: ApiClient = apiserver.client()
    try:
        items, _ = await survivor.list(kinds.by_kind("ConfigMap"), "default")
    finally:
        await survivor.close()
    stored = {i.metadata.name for i in items}
    lost = [name for name in acknowledged if name not in stored]
    assert killed_at >= 300
    assert not lost, f"{len(lost)} acknowledged writes lost, e.g. {lost[:5]}"
