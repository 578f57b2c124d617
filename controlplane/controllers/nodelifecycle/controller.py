"""The node lifecycle controller: notices nodes that went silent, marks them and their pods, and
taints them so that their pods move elsewhere.

Every `--node-monitor-period` (and at once when the witness has news) it looks at every Node:

1. Health. Per node it remembers, on its own clock, when it last saw the Ready condition's
   lastHeartbeatTime change and when it last saw the node's Lease (kube-node-lease/<node>) renewed.
   `health.judge` turns those ages, the grace period (`--node-monitor-grace-period`, or
   `--node-startup-grace-period` for a node that never posted a Ready condition) and the witness's
   verdict into RESPONSIVE, SILENT or CONFIRMED_DEAD. A node that is not responsive gets its
   Ready, MemoryPressure, DiskPressure and PIDPressure conditions set to Unknown (reason
   NodeStatusUnknown, "Kubelet stopped posting node status.").
2. When Ready leaves True that way: an Event `NodeNotReady` ("Node <name> status is now:
   NodeNotReady") and every pod on the node gets its Ready condition False (and a `NodeNotReady`
   Event, "Node is not ready"), so endpoints stop sending it traffic.
3. NoExecute taints from Ready: False -> node.kubernetes.io/not-ready, Unknown ->
   node.kubernetes.io/unreachable (with timeAdded), True -> neither. A first taint is rate limited
   per zone and held back when every node looks down (see disruption.py); a swap or a removal
   happens at once. The taint eviction controller evicts the pods.
Independently, on every Node change, the NoSchedule taints follow the conditions (taints.py).

The second witness (witness.py). The controller takes a `HealthWitness`; by default `LeaseOnly`
(none). A witness's verdict goes into `health.judge` beside the ages: DEAD (confirmed dead by the
agents' gossip cluster) makes the node Unknown at once rather than after the grace period, unless
the node was heard from after the verdict; ALIVE (its peers hear it while the master may not)
decides nothing, so a node cut off from the master alone is still judged by its Lease. A witness
calls the listener it is given when a verdict changes, which starts a pass at once.

Differences from Kubernetes, deliberately: a node is tainted in the same pass that marks it
Unknown (Kubernetes waits for the next pass), and the taint eviction controller counts a pod's
toleration from the taint's timeAdded (see tainteviction/).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.timestamps import epoch, format_time
from controlplane.api.v1 import core_pb2
from controlplane.client.api import modify
from controlplane.client.informer import object_key, split_key
from controlplane.controllers.base import ControllerContext
from controlplane.controllers.indexes import POD_NODE_INDEX, pods_by_node
from controlplane.controllers.nodelifecycle import disruption, health
from controlplane.controllers.nodelifecycle import taints as node_taints
from controlplane.controllers.nodelifecycle.disruption import Rates, TokenBucket, ZoneState
from controlplane.controllers.nodelifecycle.health import Liveness
from controlplane.controllers.nodelifecycle.witness import HealthWitness, LeaseOnly
from controlplane.controllers.runner import run_workers
from controlplane.controllers.workqueue import WorkQueue

log = structlog.get_logger("controller.nodelifecycle")

NODE = kinds.by_kind("Node")
POD = kinds.by_kind("Pod")
LEASE = kinds.by_kind("Lease")
LEASE_NAMESPACE = "kube-node-lease"


def ready_heartbeat(node: Any) -> str:
    ready = health.condition(node.status.conditions, health.READY)
    return ready.last_heartbeat_time if ready is not None else ""


def newer(renew_time: str, than: str) -> bool:
    return bool(renew_time) and (epoch(renew_time) or 0.0) > (epoch(than) or 0.0)


@dataclass
class Observed:
    """What the controller last saw of a node's two heartbeats, and when (time.monotonic()): the
    moment its watch delivered the change, so that "heard from after the witness's verdict" means
    what it says."""

    heartbeat: str
    heartbeat_seen: float
    lease_renew: str = ""
    lease_seen: float | None = None


class NodeLifecycleController:
    name = "nodelifecycle"

    def __init__(self, context: ControllerContext, witness: HealthWitness | None = None) -> None:
        self.context = context
        self.client = context.client
        self.settings = context.config.node_lifecycle
        self.witness: HealthWitness = witness if witness is not None else LeaseOnly()
        self.recorder = context.recorder("node-controller")
        self.nodes = context.informers(NODE)
        self.leases = context.informers(LEASE)
        self.pods = context.informers(POD)
        self.pods.add_index(POD_NODE_INDEX, pods_by_node)
        self.observed: dict[str, Observed] = {}
        self.known: dict[str, Any] = {}
        self.zone_states: dict[str, ZoneState] = {}
        self.buckets: dict[str, TokenBucket] = {}
        self.waiting: dict[str, dict[str, str]] = {}  # zone -> node -> NoExecute taint key to add (in order)
        self.pods_to_mark: set[str] = set()  # nodes whose pods must still be marked not ready
        self.noschedule = WorkQueue()
        self.new_pods = WorkQueue()
        self._wake = asyncio.Event()
        self.nodes.add_handler(self._node_changed)
        self.leases.add_handler(self._lease_changed)
        self.pods.add_handler(self._pod_changed)
        self.witness.subscribe(lambda node: self._wake.set())
        settings = self.settings
        self.rates = Rates(settings.node_eviction_rate, settings.secondary_node_eviction_rate,
                           settings.large_cluster_size_threshold)

    def _node_changed(self, old: Any, new: Any) -> None:
        if new is None:
            return
        self.noschedule.add(new.metadata.name)
        record = self.observed.get(new.metadata.name)
        heartbeat = ready_heartbeat(new)
        if record is not None and heartbeat != record.heartbeat:
            record.heartbeat, record.heartbeat_seen = heartbeat, time.monotonic()

    def _lease_changed(self, old: Any, new: Any) -> None:
        if new is None or new.metadata.namespace != LEASE_NAMESPACE:
            return
        record = self.observed.get(new.metadata.name)
        if record is not None and newer(new.spec.renew_time, record.lease_renew):
            record.lease_renew, record.lease_seen = new.spec.renew_time, time.monotonic()

    def _pod_changed(self, old: Any, new: Any) -> None:
        if new is not None and new.spec.node_name and (old is None or old.spec.node_name != new.spec.node_name):
            self.new_pods.add(object_key(new))

    async def run(self) -> None:
        workers = self.context.config.workers
        async with asyncio.TaskGroup() as group:
            group.create_task(self.witness.run())
            group.create_task(run_workers("nodelifecycle-noschedule", self.noschedule, self._reconcile_noschedule,
                                          workers))
            group.create_task(run_workers("nodelifecycle-pods", self.new_pods, self._reconcile_new_pod, workers))
            group.create_task(self._monitor_forever())

    async def _monitor_forever(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.monitor()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("nodelifecycle.monitor_failed")
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.settings.node_monitor_period):
                    await self._wake.wait()

    # ------------------------------------------------------------------ one pass over every node

    async def monitor(self) -> None:
        now = time.monotonic()
        wall = time.time()
        nodes = self.nodes.list()
        await self._note_arrivals_and_departures(nodes)
        ready_by_zone: dict[str, list[str]] = {}
        for node in nodes:
            try:
                ready = await self._check(node, now, wall)
            except ApiError as error:
                log.info("nodelifecycle.node_skipped", node=node.metadata.name, error=error.message)
                continue
            if disruption.EXCLUDE_LABEL not in node.metadata.labels:
                ready_by_zone.setdefault(disruption.zone_of(node.metadata.labels), []).append(ready)
        await self._handle_disruption(ready_by_zone, nodes, now)
        await self._taint_waiting(now)

    async def _note_arrivals_and_departures(self, nodes: list[Any]) -> None:
        present = {node.metadata.name: node for node in nodes}
        for name, node in present.items():
            if name not in self.known:
                log.info("nodelifecycle.node_registered", node=name)
                await self.recorder.record(node, "Normal", "RegisteredNode", f"Registered Node {name} in Controller")
        for name, node in self.known.items():
            if name not in present:
                log.info("nodelifecycle.node_removed", node=name)
                await self.recorder.record(node, "Normal", "RemovingNode", f"Removing Node {name} from Controller")
                self.observed.pop(name, None)
                self.pods_to_mark.discard(name)
                for pending in self.waiting.values():
                    pending.pop(name, None)
        self.known = present

    def _observe(self, node: Any, now: float, wall: float) -> Observed:
        """What was seen of the node's heartbeats. The watch handlers above note each change as it
        arrives; a node seen for the first time counts as heard from now (as in Kubernetes), or,
        if it never posted a Ready condition, since its creation."""
        name = node.metadata.name
        heartbeat = ready_heartbeat(node)
        record = self.observed.get(name)
        if record is None:
            seen = now
            if not heartbeat:
                created = epoch(node.metadata.creation_timestamp)
                seen = now - max(0.0, wall - created) if created is not None else now
            record = self.observed[name] = Observed(heartbeat, seen)
        elif heartbeat != record.heartbeat:  # a change the handler has not seen yet
            record.heartbeat, record.heartbeat_seen = heartbeat, now
        lease = self.leases.get(LEASE_NAMESPACE, name)
        if lease is not None and newer(lease.spec.renew_time, record.lease_renew):
            record.lease_renew, record.lease_seen = lease.spec.renew_time, now
        return record

    async def _check(self, node: Any, now: float, wall: float) -> str:
        """Judge one node, write what follows; its Ready status afterwards."""
        name = node.metadata.name
        observed_ready = health.ready_status(node.status.conditions)
        record = self._observe(node, now, wall)
        settings = self.settings
        grace = settings.node_monitor_grace_period if observed_ready else settings.node_startup_grace_period
        verdict = self.witness.verdict(name)
        liveness = health.judge(heartbeat_age=now - record.heartbeat_seen,
                                lease_age=None if record.lease_seen is None else now - record.lease_seen,
                                grace=grace, witness=verdict)
        ready = observed_ready
        if liveness is not Liveness.RESPONSIVE:
            stamp = format_time(datetime.fromtimestamp(wall, UTC))
            conditions = health.mark_unknown(node.status.conditions, stamp, node.metadata.creation_timestamp)
            if health.condition(conditions, health.READY) != health.condition(node.status.conditions, health.READY):
                updated = core_pb2.Node()
                updated.CopyFrom(node)
                del updated.status.conditions[:]
                updated.status.conditions.extend(conditions)
                await self.client.update_status(updated)  # with the cached resourceVersion: a newer
                # status from the agent wins (CONFLICT), and the next pass judges it
                log.info("nodelifecycle.node_unknown", node=name, liveness=liveness.value,
                         silent_for=round(now - max(record.heartbeat_seen, record.lease_seen or 0.0), 1),
                         witness=verdict.verdict.value if verdict else None)
            ready = "Unknown"
        if ready != "True" and observed_ready == "True":
            await self.recorder.record(node, "Normal", "NodeNotReady", f"Node {name} status is now: NodeNotReady")
            self.pods_to_mark.add(name)
        if ready == "True":
            self.pods_to_mark.discard(name)
        elif name in self.pods_to_mark:
            await self._mark_pods_not_ready(name)
            self.pods_to_mark.discard(name)
        await self._noexecute(node, ready)
        return ready

    # ------------------------------------------------------------------ pods of a node that is not ready

    async def _mark_pods_not_ready(self, node_name: str) -> None:
        for pod in self.pods.by_index(POD_NODE_INDEX, node_name):
            await self._mark_pod_not_ready(pod)

    async def _mark_pod_not_ready(self, pod: Any) -> None:
        ready = health.condition(pod.status.conditions, "Ready")
        if ready is None or ready.status == "False":
            return
        stamp = format_time(datetime.now(UTC))

        def not_ready(current: Any) -> None:
            for condition in current.status.conditions:
                if condition.type == "Ready" and condition.status != "False":
                    condition.status = "False"
                    condition.last_transition_time = stamp

        try:
            await modify(self.client, POD, pod.metadata.namespace, pod.metadata.name, not_ready, status=True)
        except ApiError as error:
            if error.reason is Reason.NOT_FOUND:
                return
            raise
        log.info("nodelifecycle.pod_not_ready", pod=object_key(pod), node=pod.spec.node_name)
        await self.recorder.record(pod, "Warning", "NodeNotReady", "Node is not ready")

    async def _reconcile_new_pod(self, key: str) -> float | None:
        """A pod just bound to a node that is not Ready is marked not ready too."""
        namespace, name = split_key(key)
        pod = self.pods.get(namespace, name)
        if pod is None or not pod.spec.node_name or pod.spec.node_name not in self.observed:
            return None
        node = self.nodes.get("", pod.spec.node_name)
        if node is not None and health.ready_status(node.status.conditions) not in ("True", ""):
            await self._mark_pod_not_ready(pod)
        return None

    # ------------------------------------------------------------------ taints

    async def _reconcile_noschedule(self, name: str) -> float | None:
        node = self.nodes.get("", name)
        if node is None:
            return None
        wanted = node_taints.noschedule_keys(node.status.conditions, node.spec.unschedulable)
        if node_taints.with_noschedule(node.spec.taints, wanted) is None:
            return None

        def retaint(current: Any) -> None:
            fresh = node_taints.with_noschedule(
                current.spec.taints, node_taints.noschedule_keys(current.status.conditions, current.spec.unschedulable))
            if fresh is not None:
                del current.spec.taints[:]
                current.spec.taints.extend(fresh)

        await self._change_node(name, retaint)
        return None

    async def _noexecute(self, node: Any, ready: str) -> None:
        name = node.metadata.name
        zone = disruption.zone_of(node.metadata.labels)
        wanted = node_taints.noexecute_key(ready)
        change = node_taints.noexecute_change(node.spec.taints, wanted)
        if change is node_taints.Change.ADD:
            self.waiting.setdefault(zone, {})[name] = wanted or ""
            return
        self.waiting.get(zone, {}).pop(name, None)
        if change is not node_taints.Change.NONE:
            await self._set_noexecute(name, wanted)

    async def _set_noexecute(self, name: str, wanted: str | None) -> None:
        stamp = format_time(datetime.now(UTC))

        def retaint(current: Any) -> None:
            ready = health.ready_status(current.status.conditions)
            if wanted is not None and node_taints.noexecute_key(ready) != wanted:
                return  # the node changed meanwhile; the next pass decides
            fresh = node_taints.with_noexecute(current.spec.taints, wanted, stamp)
            if fresh is not None:
                del current.spec.taints[:]
                current.spec.taints.extend(fresh)

        await self._change_node(name, retaint)
        log.info("nodelifecycle.noexecute", node=name, taint=wanted or "none")

    async def _change_node(self, name: str, change: Callable[[Any], None]) -> None:
        try:
            await modify(self.client, NODE, "", name, change)
        except ApiError as error:
            if error.reason is not Reason.NOT_FOUND:
                raise

    async def _taint_waiting(self, now: float) -> None:
        for zone, pending in self.waiting.items():
            bucket = self.buckets.get(zone)
            for name, key in list(pending.items()):
                if bucket is None or not bucket.take(now):
                    break
                del pending[name]
                try:
                    await self._set_noexecute(name, key)
                except ApiError as error:
                    log.info("nodelifecycle.taint_failed", node=name, error=error.message)

    # ------------------------------------------------------------------ zones

    async def _handle_disruption(self, ready_by_zone: dict[str, list[str]], nodes: list[Any], now: float) -> None:
        threshold = self.settings.unhealthy_zone_threshold
        states = {zone: disruption.zone_state(ready, threshold) for zone, ready in ready_by_zone.items()}
        down_now = disruption.everything_down(states)
        down_before = disruption.everything_down({zone: state for zone, state in self.zone_states.items()
                                                  if zone in states})
        if down_now and not down_before:
            log.warning("nodelifecycle.master_disruption", message="every node is not Ready: the control plane is "
                        "probably cut off; no node is tainted until one is heard from")
            self.waiting.clear()
            for node in nodes:
                if node_taints.noexecute_change(node.spec.taints, None) is node_taints.Change.REMOVE:
                    await self._set_noexecute(node.metadata.name, None)
        elif down_before and not down_now:
            log.info("nodelifecycle.master_disruption_over")
            for record in self.observed.values():  # everyone gets a fresh grace period
                record.heartbeat_seen = now
                if record.lease_seen is not None:
                    record.lease_seen = now
        for zone, state in states.items():
            if self.zone_states.get(zone) is not state:
                log.info("nodelifecycle.zone_state", zone=zone or "(none)", state=state.value)
            rate = 0.0 if down_now else disruption.tainting_rate(state, len(ready_by_zone[zone]), self.rates)
            bucket = self.buckets.get(zone)
            if bucket is None or bucket.rate != rate:
                self.buckets[zone] = TokenBucket(rate)
        self.zone_states = states
