"""The controllers' work queue: one wait per key, never two workers on a key, delays and back-off."""

from __future__ import annotations

import asyncio

from controlplane.controllers.workqueue import WorkQueue


async def test_a_key_added_twice_waits_once() -> None:
    queue = WorkQueue()
    queue.add("a")
    queue.add("b")
    queue.add("a")
    assert len(queue) == 2
    assert [await queue.get(), await queue.get()] == ["a", "b"]


async def test_a_key_added_while_in_work_comes_back_after_done_not_before() -> None:
    queue = WorkQueue()
    queue.add("a")
    key = await queue.get()
    queue.add("a")
    assert len(queue) == 0  # not handed to a second worker while the first holds it
    queue.done(key)
    assert len(queue) == 1
    assert await queue.get() == "a"


async def test_done_without_a_new_add_does_not_requeue() -> None:
    queue = WorkQueue()
    queue.add("a")
    queue.done(await queue.get())
    assert len(queue) == 0


async def test_get_waits_for_an_add() -> None:
    queue = WorkQueue()
    getter = asyncio.create_task(queue.get())
    await asyncio.sleep(0.01)
    assert not getter.done()
    queue.add("late")
    assert await asyncio.wait_for(getter, 1) == "late"


async def test_add_after_adds_later_and_the_sooner_request_wins() -> None:
    queue = WorkQueue()
    queue.add_after("a", 10)
    queue.add_after("a", 0.02)
    queue.add_after("a", 5)
    assert len(queue) == 0
    assert await asyncio.wait_for(queue.get(), 1) == "a"


async def test_rate_limited_delays_double_per_failure_and_forget_resets_them() -> None:
    queue = WorkQueue(base_delay=0.01, max_delay=0.04)
    loop = asyncio.get_running_loop()
    delays = []
    for _ in range(4):
        start = loop.time()
        queue.add_rate_limited("a")
        queue.done(await queue.get())
        delays.append(loop.time() - start)
    assert queue.failures("a") == 4
    assert delays[0] >= 0.009 and delays[1] >= 0.019 and delays[2] >= 0.039
    assert delays[3] < 0.2  # capped at max_delay
    queue.forget("a")
    assert queue.failures("a") == 0
