"""The pod garbage collector (Kubernetes' podgc), every `--pod-gc-period`:

- pods bound to a node that has been gone for `--pod-gc-orphan-quarantine` (and that the API
  server confirms is gone) are marked Failed with the DisruptionTarget condition (reason
  DeletionByPodGC, "PodGC: node no longer exists") and deleted at once: nobody is left to stop
  them. This is how the Terminating pods of a dead node go when its Node is deleted;
- pods Terminating on a not-Ready node tainted node.kubernetes.io/out-of-service are deleted at once;
- terminated pods beyond `--terminated-pod-gc-threshold` are deleted, oldest first.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime
from typing import Any

import structlog

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.timestamps import format_time
from controlplane.api.v1 import meta_pb2
from controlplane.client.api import modify
from controlplane.client.informer import object_key
from controlplane.controllers.base import ControllerContext
from controlplane.controllers.indexes import POD_NODE_INDEX, pods_by_node
from controlplane.controllers.podconditions import disruption_target, with_condition
from controlplane.controllers.podgc import policy

log = structlog.get_logger("controller.podgc")

NODE = kinds.by_kind("Node")
POD = kinds.by_kind("Pod")


class PodGcController:
    name = "podgc"

    def __init__(self, context: ControllerContext) -> None:
        self.client = context.client
        self.settings = context.config.pod_gc
        self.nodes = context.informers(NODE)
        self.pods = context.informers(POD)
        self.pods.add_index(POD_NODE_INDEX, pods_by_node)
        self.missing_since: dict[str, float] = {}  # node name -> when its pods were first seen orphaned

    async def run(self) -> None:
        while True:
            try:
                await self.collect(asyncio.get_running_loop().time())
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("podgc.failed")
            await asyncio.sleep(self.settings.period)

    async def collect(self, now: float) -> None:
        pods = self.pods.list()
        for pod in policy.out_of_service(pods, {node.metadata.name: node for node in self.nodes.list()}):
            await self._force_delete(pod, None, "out-of-service node")
        for pod in policy.terminated_beyond(pods, self.settings.terminated_pod_gc_threshold):
            await self._force_delete(pod, None, "terminated pods over the threshold")
        await self._collect_orphans(pods, now)

    async def _collect_orphans(self, pods: list[Any], now: float) -> None:
        missing = policy.missing_nodes(pods, self.nodes.keys())
        for name in [name for name in self.missing_since if name not in missing]:
            del self.missing_since[name]
        for name in missing:
            since = self.missing_since.setdefault(name, now)
            if now - since < self.settings.orphan_quarantine or not await self._really_gone(name):
                continue
            condition = disruption_target("DeletionByPodGC", "PodGC: node no longer exists", "")
            for pod in self.pods.by_index(POD_NODE_INDEX, name):
                await self._force_delete(pod, condition, f"node {name} no longer exists")

    async def _really_gone(self, name: str) -> bool:
        try:
            await self.client.get(NODE, "", name)
        except ApiError as error:
            return error.reason is Reason.NOT_FOUND
        return False

    async def _force_delete(self, pod: Any, condition: meta_pb2.Condition | None, why: str) -> None:
        """Mark the pod Failed (with `condition`) unless it already ended, then delete it at once."""
        namespace, name = pod.metadata.namespace, pod.metadata.name
        stamp = format_time(datetime.now(UTC))

        def failed(current: Any) -> None:
            if current.status.phase not in policy.TERMINAL_PHASES:
                current.status.phase = "Failed"
            if condition is not None:
                marked = meta_pb2.Condition()
                marked.CopyFrom(condition)
                marked.last_transition_time = stamp
                with_condition(current.status.conditions, marked)

        with contextlib.suppress(ApiError):  # best effort: the deletion is what matters
            await modify(self.client, POD, namespace, name, failed, status=True)
        try:
            await self.client.delete(POD, namespace, name, grace_period=0, precondition_uid=pod.metadata.uid)
        except ApiError as error:
            if error.reason not in (Reason.NOT_FOUND, Reason.CONFLICT):
                raise
            return
        log.info("podgc.deleted", pod=object_key(pod), node=pod.spec.node_name, why=why)
