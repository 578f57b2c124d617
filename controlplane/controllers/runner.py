"""Workers that take keys from a queue and reconcile them: success forgets the key's failures, an
error puts it back with back-off, and a reconcile may ask to be called again after a delay."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from controlplane.api.errors import ApiError, Reason
from controlplane.controllers.workqueue import WorkQueue

log = structlog.get_logger("controller")

# reconcile(key) -> None, or seconds after which to look at the key again.
Reconcile = Callable[[str], Awaitable[float | None]]


async def run_workers(name: str, queue: WorkQueue, reconcile: Reconcile, workers: int = 1) -> None:
    """Run `workers` concurrent reconcilers over the queue until cancelled."""

    async def work() -> None:
        while True:
            key = await queue.get()
            try:
                again = await reconcile(key)
            except asyncio.CancelledError:
                raise
            except ApiError as error:
                # A conflict means we acted on a stale view: look again soon, quietly.
                if error.reason is not Reason.CONFLICT:
                    log.info("controller.retry", controller=name, key=key, error=error.message,
                             failures=queue.failures(key) + 1)
                queue.add_rate_limited(key)
            except Exception:
                log.exception("controller.failed", controller=name, key=key)
                queue.add_rate_limited(key)
            else:
                queue.forget(key)
                if again is not None:
                    queue.add_after(key, again)
            finally:
                queue.done(key)

    async with asyncio.TaskGroup() as group:
        for number in range(workers):
            group.create_task(work(), name=f"{name}-worker-{number}")
