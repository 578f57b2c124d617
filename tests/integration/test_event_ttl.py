"""The API server deletes Events --event-ttl after their last write; a repeat aggregated into an
Event (count and lastTimestamp bumped) keeps it for another TTL."""

from __future__ import annotations

import asyncio
import time

import pytest

from controlplane.api import codec, kinds
from controlplane.client import ApiClient
from controlplane.client.events import EventRecorder
from tests.support.wait import eventually

EVENT = kinds.by_kind("Event")
TTL = 3


@pytest.fixture
def apiserver_args() -> list[str]:
    return ["--event-ttl", str(TTL)]


async def reasons(api: ApiClient) -> set[str]:
    items, _ = await api.list(EVENT, "default")
    return {event.reason for event in items}  # type: ignore[attr-defined]


async def test_events_are_deleted_a_ttl_after_their_last_write(api: ApiClient) -> None:
    config_map = await api.create(codec.decode_object({"apiVersion": "v1", "kind": "ConfigMap",
                                                       "metadata": {"name": "subject"}, "data": {}}))
    recorder = EventRecorder(api, "test")
    await recorder.record(config_map, "Normal", "Once", "said once")
    await recorder.record(config_map, "Normal", "Repeated", "said again")
    assert await reasons(api) == {"Once", "Repeated"}
    await asyncio.sleep(TTL - 0.5)  # time passes; then the repeat bumps the second event's lastTimestamp
    await recorder.record(config_map, "Normal", "Repeated", "said again")
    bumped = time.monotonic()

    async def only_the_repeated_one_left() -> bool:
        return await reasons(api) == {"Repeated"}

    await eventually(only_the_repeated_one_left, timeout=TTL + 5, what="the event said once to expire")
    items, _ = await api.list(EVENT, "default")
    assert [event.count for event in items] == [2]  # type: ignore[attr-defined]

    async def all_gone() -> bool:
        return await reasons(api) == set()

    await eventually(all_gone, timeout=TTL + 5, what="the repeated event to expire after its last repeat")
    assert time.monotonic() - bumped >= TTL - 0.1  # never before a whole TTL (clocks differ a little)
