"""The test plays the node: it binds a pod and writes the status a node agent would write (Running,
ready or not), through the API, as an agent does. For integration tests of controllers that must
control exactly when each pod turns ready; end-to-end tests on the lab use real agents instead."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.timestamps import now_text
from controlplane.api.v1 import core_pb2, meta_pb2
from controlplane.client import ApiClient
from controlplane.client.api import modify

POD = kinds.by_kind("Pod")


async def bind(api: ApiClient, pod: core_pb2.Pod, node: str) -> core_pb2.Pod:
    """Set spec.nodeName (unless it is set), as the scheduler's binding does."""
    def place(current: core_pb2.Pod) -> None:
        current.spec.node_name = current.spec.node_name or node

    stored = await modify(api, POD, pod.metadata.namespace, pod.metadata.name, place)
    assert isinstance(stored, core_pb2.Pod)
    return stored


async def report(api: ApiClient, pod: core_pb2.Pod, *, ready: bool, node: str = "node-a", restarts: int = 0,
                 phase: str = "Running", ready_since: str = "") -> core_pb2.Pod:
    """Bind the pod (if it is not) and write its status: `phase`, Ready as asked."""
    bound = await bind(api, pod, node)

    def running(current: core_pb2.Pod) -> None:
        now = now_text()
        status = current.status
        status.phase = phase
        status.host_ip = "10.0.0.1"
        status.pod_ip = status.pod_ip or f"10.244.0.{abs(hash(current.metadata.uid)) % 250 + 2}"
        status.start_time = status.start_time or now
        previous = {c.type: c for c in status.conditions}
        del status.conditions[:]
        for kind, value in (("PodScheduled", True), ("Initialized", True), ("ContainersReady", ready),
                            ("Ready", ready)):
            text = "True" if value else "False"
            old = previous.get(kind)
            since = old.last_transition_time if old is not None and old.status == text else (ready_since or now)
            status.conditions.append(meta_pb2.Condition(type=kind, status=text, last_transition_time=since))
        del status.container_statuses[:]
        for container in current.spec.containers:
            state = core_pb2.ContainerState()
            state.running.started_at = status.start_time
            status.container_statuses.append(core_pb2.ContainerStatus(
                name=container.name, ready=ready, restart_count=restarts, image=container.image, state=state,
                started=True))

    stored = await modify(api, POD, bound.metadata.namespace, bound.metadata.name, running, status=True)
    assert isinstance(stored, core_pb2.Pod)
    return stored


class AutoNode:
    """The test as a node that runs every pod it is given: binds it, reports it Running and (when
    `ready(pod)` says so) Ready, and finishes the deletion of pods being deleted, as an agent does
    once their containers stopped. Use as `async with AutoNode(api) as node:`; `node.ready` can be
    changed on the way."""

    def __init__(self, api: ApiClient, ready: Callable[[core_pb2.Pod], bool] = lambda pod: True,
                 node: str = "node-a") -> None:
        self.api = api
        self.ready = ready
        self.node = node
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> AutoNode:
        self._task = asyncio.create_task(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _run(self) -> None:
        while True:
            items, version = await self.api.list(POD, "default")
            for pod in items:
                await self._handle(pod)
            try:
                async for event in self.api.watch(POD, "default", resource_version=version):
                    if event.type != "DELETED":
                        await self._handle(event.object)
            except ApiError:
                continue

    async def _handle(self, pod: Any) -> None:
        try:
            if pod.metadata.deletion_timestamp:
                await self.api.delete(POD, pod.metadata.namespace, pod.metadata.name, grace_period=0)
                return
            want_ready = self.ready(pod)
            is_ready = any(c.type == "Ready" and c.status == ("True" if want_ready else "False")
                           for c in pod.status.conditions)
            if pod.spec.node_name and pod.status.phase == "Running" and is_ready:
                return
            await report(self.api, pod, ready=want_ready, node=self.node)
        except ApiError as error:
            if error.reason not in (Reason.NOT_FOUND, Reason.CONFLICT):
                raise

    async def settle(self) -> None:
        """Look at every pod again now (after `ready` changed)."""
        items, _ = await self.api.list(POD, "default")
        for pod in items:
            await self._handle(pod)
