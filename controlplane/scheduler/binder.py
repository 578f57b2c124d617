"""Binding: writing the chosen node into the pod (spec.nodeName from empty, which the API server
allows once and records with the PodScheduled condition, as Kubernetes' binding does). Several
bindings are in flight at once, so that the scheduler's decisions are not held to the pace of one
round trip; the scheduling loop waits only when `limit` of them are pending.

The update carries the pod's resourceVersion, so a pod changed meanwhile is not overwritten: it is
read again and bound if it is still the same pod, unbound and unchanged in its spec; otherwise the
binding fails and the scheduler forgets the assumption and tries the pod again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason, conflict
from controlplane.api.v1 import core_pb2
from controlplane.client.api import ApiClient
from controlplane.scheduler.podinfo import PodInfo

log = structlog.get_logger("scheduler.binder")

POD = kinds.by_kind("Pod")

Bound = Callable[[PodInfo, str], None]
Failed = Callable[[PodInfo, str, ApiError], None]


def bound_copy(pod: core_pb2.Pod, node: str) -> core_pb2.Pod:
    copy = core_pb2.Pod()
    copy.CopyFrom(pod)
    copy.spec.node_name = node
    return copy


def still_bindable(fresh: core_pb2.Pod, decided: core_pb2.Pod) -> bool:
    """The pod read again is the one the decision was made for: same uid, not bound, not being
    deleted, same spec."""
    return (fresh.metadata.uid == decided.metadata.uid and not fresh.spec.node_name
            and not fresh.metadata.deletion_timestamp and fresh.spec == decided.spec)


class Binder:
    def __init__(self, client: ApiClient, on_bound: Bound, on_failed: Failed, workers: int = 64,
                 limit: int = 2000) -> None:
        self.client = client
        self.on_bound = on_bound
        self.on_failed = on_failed
        self.workers = workers
        self.limit = limit
        self._jobs: asyncio.Queue[tuple[PodInfo, str]] = asyncio.Queue()
        self._pending = 0
        self._room = asyncio.Event()
        self._room.set()

    @property
    def pending(self) -> int:
        return self._pending

    def submit(self, info: PodInfo, node: str) -> None:
        self._pending += 1
        if self._pending >= self.limit:
            self._room.clear()
        self._jobs.put_nowait((info, node))

    async def wait_for_room(self) -> None:
        await self._room.wait()

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            for number in range(self.workers):
                group.create_task(self._work(), name=f"binder-{number}")

    async def _work(self) -> None:
        while True:
            info, node = await self._jobs.get()
            try:
                await self.bind(info.pod, node)
            except ApiError as error:
                log.info("pod.bind_failed", pod=info.key, node=node, error=error.message)
                self.on_failed(info, node, error)
            except Exception as error:  # a bug must not lose the pod: it is retried like a failed binding
                log.exception("pod.bind_crashed", pod=info.key, node=node)
                self.on_failed(info, node, ApiError(Reason.INTERNAL, str(error)))
            else:
                self.on_bound(info, node)
            finally:
                self._pending -= 1
                if self._pending < self.limit:
                    self._room.set()

    async def bind(self, pod: core_pb2.Pod, node: str) -> None:
        try:
            await self.client.update(bound_copy(pod, node))
            return
        except ApiError as error:
            if error.reason is not Reason.CONFLICT:
                raise
        fresh = await self.client.get(POD, pod.metadata.namespace, pod.metadata.name)
        assert isinstance(fresh, core_pb2.Pod)
        if not still_bindable(fresh, pod):
            name = pod.metadata.name
            detail = f'pod {name} is already assigned to node "{fresh.spec.node_name}"' if fresh.spec.node_name \
                else f"pod {name} changed since it was scheduled"
            raise conflict("pods/binding", name, detail)
        await self.client.update(bound_copy(fresh, node))
