"""The taint eviction controller (Kubernetes' taint manager): deletes the pods of a node with NoExecute
taints once their tolerations run out (eviction.py says when).

Level-triggered on pod keys: a pod is looked at when it is bound, when its tolerations change and
whenever its node's NoExecute taints change, and again at its deadline. An eviction records the
Event `TaintManagerEviction` ("Marking for deletion Pod <namespace>/<name>"), adds the pod's
DisruptionTarget condition (reason DeletionByTaintManager), then deletes the pod as any client
would: with its grace period, so it is Terminating until its node's agent stops it. A ReplicaSet
replaces a pod as soon as it is Terminating; when its node stays unreachable it stays Terminating
until the node comes back or its Node is deleted (pod GC), as in Kubernetes. A planned eviction
whose taint goes away first is called off with "Cancelling deletion of Pod <namespace>/<name>".
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import structlog

from controlplane.api import kinds, taints
from controlplane.api.errors import ApiError, Reason
from controlplane.api.timestamps import epoch, format_time
from controlplane.api.v1 import core_pb2
from controlplane.client.api import modify
from controlplane.client.informer import object_key, split_key
from controlplane.controllers.base import ControllerContext, QueueController
from controlplane.controllers.indexes import POD_NODE_INDEX, pods_by_node
from controlplane.controllers.podconditions import disruption_target, with_condition
from controlplane.controllers.tainteviction.eviction import TaintSince, eviction_deadline

log = structlog.get_logger("controller.tainteviction")

NODE = kinds.by_kind("Node")
POD = kinds.by_kind("Pod")


def noexecute_taints(node: Any) -> list[core_pb2.Taint]:
    return [taint for taint in node.spec.taints if taint.effect == taints.NO_EXECUTE] if node is not None else []


class TaintEvictionController(QueueController):
    name = "taint-eviction-controller"

    def __init__(self, context: ControllerContext) -> None:
        super().__init__(context, workers=context.config.workers)
        self.recorder = context.recorder("taint-eviction-controller")
        self.nodes = context.informers(NODE)
        self.pods = context.informers(POD)
        self.pods.add_index(POD_NODE_INDEX, pods_by_node)
        self.planned: dict[str, float] = {}  # pod key -> eviction deadline (for the cancelling Event)
        self.first_seen: dict[tuple[str, str, str, str], float] = {}  # taints without timeAdded
        self.nodes.add_handler(self._node_changed)
        self.pods.add_handler(self._pod_changed)

    def _node_changed(self, old: Any, new: Any) -> None:
        before, after = noexecute_taints(old), noexecute_taints(new)
        if before == after:
            return
        node = new if new is not None else old
        name = node.metadata.name
        current = {(name, t.key, t.value, t.effect) for t in after}
        for seen in [seen for seen in self.first_seen if seen[0] == name and seen not in current]:
            del self.first_seen[seen]
        for pod in self.pods.by_index(POD_NODE_INDEX, name):
            self.queue.add(object_key(pod))

    def _pod_changed(self, old: Any, new: Any) -> None:
        if new is None:
            self.planned.pop(object_key(old), None)
            return
        if not new.spec.node_name:
            return
        if old is None or old.spec.node_name != new.spec.node_name or old.spec.tolerations != new.spec.tolerations \
                or old.metadata.deletion_timestamp != new.metadata.deletion_timestamp:
            self.queue.add(object_key(new))

    def _since(self, node: str, taint: core_pb2.Taint, now: float) -> float:
        added = epoch(taint.time_added)
        if added is not None:
            return added
        return self.first_seen.setdefault((node, taint.key, taint.value, taint.effect), now)

    async def reconcile(self, key: str) -> float | None:
        namespace, name = split_key(key)
        pod = self.pods.get(namespace, name)
        if pod is None or not pod.spec.node_name or pod.metadata.deletion_timestamp:
            self.planned.pop(key, None)
            return None
        node = self.nodes.get("", pod.spec.node_name)
        now = time.time()
        tainted = [TaintSince(t, self._since(pod.spec.node_name, t, now)) for t in noexecute_taints(node)]
        deadline = eviction_deadline(tainted, pod.spec.tolerations, epoch(pod.metadata.creation_timestamp) or now)
        if deadline is None:
            if self.planned.pop(key, None) is not None:
                await self.recorder.record(pod, "Normal", "TaintManagerEviction", f"Cancelling deletion of Pod {key}")
            return None
        if deadline > now:
            if key not in self.planned:
                log.info("tainteviction.planned", pod=key, node=pod.spec.node_name, in_seconds=round(deadline - now, 1))
            self.planned[key] = deadline
            return deadline - now
        self.planned.pop(key, None)
        await self._evict(pod, key)
        return None

    async def _evict(self, pod: Any, key: str) -> None:
        await self.recorder.record(pod, "Normal", "TaintManagerEviction", f"Marking for deletion Pod {key}")
        target = disruption_target("DeletionByTaintManager", "Taint manager: deleting due to NoExecute taint",
                                   format_time(datetime.now(UTC)))
        try:
            await modify(self.client, POD, pod.metadata.namespace, pod.metadata.name,
                         lambda current: with_condition(current.status.conditions, target), status=True)
            await self.client.delete(POD, pod.metadata.namespace, pod.metadata.name,
                                     precondition_uid=pod.metadata.uid)
        except ApiError as error:
            if error.reason in (Reason.NOT_FOUND, Reason.CONFLICT):
                return  # gone, or another pod of that name by now
            raise
        log.info("tainteviction.evicted", pod=key, node=pod.spec.node_name)
