"""Kubernetes' slowStartBatch: do `count` calls in batches of 1, 2, 4, 8 ... concurrently, stopping
after the first batch in which one failed, so that a call bound to fail (a quota, a missing
ConfigMap) is tried a few times, not hundreds."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable


async def slow_start(count: int, call: Callable[[], Awaitable[None]], initial_batch: int = 1,
                     ) -> tuple[int, BaseException | None]:
    """(successes, first error or None)."""
    remaining, successes = count, 0
    batch = min(remaining, initial_batch)
    while batch > 0:
        errors: list[BaseException] = []
        async with asyncio.TaskGroup() as group:
            for _ in range(batch):
                group.create_task(_collecting(call, errors))
        successes += batch - len(errors)
        if errors:
            return successes, errors[0]
        remaining -= batch
        batch = min(2 * batch, remaining)
    return successes, None


async def _collecting(call: Callable[[], Awaitable[None]], errors: list[BaseException]) -> None:
    try:
        await call()
    except asyncio.CancelledError:
        raise
    except Exception as error:  # collected: the batch finishes, then the rest is not tried
        errors.append(error)
