"""Keeps one PodWorker per pod bound to this node, fed by a watch of the API.

Level-triggered: every (re)list hands each worker the pod as it is now, pods that are gone get
their worker told so, and what the runtime or the network still hold for pods the API no longer
knows (e.g. deleted while the agent was down) is cleaned up.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from agent.context import AgentContext
from agent.podworker import PodWorker
from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.v1 import core_pb2

log = structlog.get_logger("agent.pods")

POD = kinds.by_kind("Pod")
_RETRY = 1.0


class PodManager:
    def __init__(self, context: AgentContext,
                 make_worker: Callable[[AgentContext, core_pb2.Pod], PodWorker] = PodWorker) -> None:
        self.context = context
        self.make_worker = make_worker
        self.workers: dict[str, PodWorker] = {}
        self._group: asyncio.TaskGroup | None = None

    @property
    def selector(self) -> str:
        return f"spec.nodeName={self.context.config.node_name}"

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            self._group = group
            first = True
            while True:
                try:
                    items, version = await self.context.client.list(POD, "", field_selector=self.selector)
                    pods = [p for p in items if isinstance(p, core_pb2.Pod)]
                    if first:
                        await self._clean_orphans({p.metadata.uid for p in pods})
                        first = False
                    self._sync(pods)
                    await self._follow(version)
                except ApiError as error:
                    if error.reason not in (Reason.EXPIRED, Reason.UNAVAILABLE):
                        raise
                    log.info("pods.relist", reason=error.reason.value, error=error.message)
                    await asyncio.sleep(_RETRY if error.reason is Reason.UNAVAILABLE else 0)

    async def _follow(self, version: str) -> None:
        """Apply watch events until the stream ends or the resync interval passes (then relist)."""
        stream = self.context.client.watch(POD, "", resource_version=version, field_selector=self.selector,
                                           allow_bookmarks=True)
        try:
            async with asyncio.timeout(self.context.config.resync_interval):
                async for event in stream:
                    if event.type == "BOOKMARK" or not isinstance(event.object, core_pb2.Pod):
                        continue
                    if event.type == "DELETED":
                        self._gone(event.object.metadata.uid)
                    else:
                        self._update(event.object)
        except TimeoutError:
            pass  # resync: relist and hand every worker its pod again
        finally:
            await stream.aclose()  # type: ignore[attr-defined]

    def _sync(self, pods: list[core_pb2.Pod]) -> None:
        present = {p.metadata.uid for p in pods}
        for pod in pods:
            self._update(pod)
        for uid in list(self.workers):
            if uid not in present:
                self._gone(uid)

    def _update(self, pod: core_pb2.Pod) -> None:
        uid = pod.metadata.uid
        worker = self.workers.get(uid)
        if worker is None:
            worker = self.make_worker(self.context, pod)
            self.workers[uid] = worker
            assert self._group is not None
            self._group.create_task(self._supervise(worker), name=f"pod-{pod.metadata.name}")
        else:
            worker.update(pod)

    def _gone(self, uid: str) -> None:
        worker = self.workers.get(uid)
        if worker is not None:
            worker.removed_from_api()

    async def _supervise(self, worker: PodWorker) -> None:
        """Run a worker to its end; a bug in one pod's handling must not take the agent down."""
        try:
            while True:
                try:
                    await worker.run()
                    return
                except Exception:
                    log.exception("pod.worker_failed", pod=worker.key)
                    await asyncio.sleep(_RETRY)
        finally:
            self.workers.pop(worker.uid, None)

    async def _clean_orphans(self, known: set[str]) -> None:
        """Containers and sandboxes of pods the API no longer has: stop and remove them."""
        runtime, network = self.context.runtime, self.context.network
        leftovers = {c.pod_uid for c in await runtime.list()} | {s.pod_uid for s in await network.sandboxes()}
        for uid in leftovers - known:
            log.info("pod.orphan_removed", uid=uid)
            for container in await runtime.list(uid):
                if container.state == "running":
                    await runtime.stop(container.id, 1.0)
            await runtime.remove_pod(uid)
            await network.remove_sandbox(uid)
