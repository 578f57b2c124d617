"""`kubelab scheduler`: watch nodes and pods into the cache, queue the pods that wait for a node,
and bind them, one decision at a time, several bindings in flight.

    informers (pods, nodes, services, replicasets, statefulsets, claims, volumes)
        -> cache (nodes, bound and assumed pods, per-node totals)   -> cluster events -> queue moves
        -> queue (pending pods: active, back-off, unschedulable)
    scheduling loop: pop -> algorithm (filters, scores) -> assume -> binder -> API (spec.nodeName)
                                                        \\-> fit failure -> queue + reporter (event, condition)

The loop runs decisions back to back for at most `batch_seconds`, then lets the event loop deliver
watch events and binding replies; it sleeps while no pod is ready, until one is added, a cluster
event moves one, or a back-off ends.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

import structlog

from controlplane.api.errors import ApiError, Reason
from controlplane.api.labels import Selector
from controlplane.api.v1 import apps_pb2, core_pb2
from controlplane.client import ClientConfig, connect
from controlplane.client.api import ApiClient
from controlplane.client.events import EventRecorder
from controlplane.client.informer import InformerSet, object_key
from controlplane.scheduler import clusterevents, messages
from controlplane.scheduler.algorithm import Algorithm, Placement
from controlplane.scheduler.binder import Binder
from controlplane.scheduler.cache import SchedulerCache
from controlplane.scheduler.config import SchedulerConfig
from controlplane.scheduler.podinfo import TERMINAL_PHASES, Owner, PodInfo, pod_info
from controlplane.scheduler.queue import SchedulingQueue
from controlplane.scheduler.reporter import Reporter
from controlplane.scheduler.spreading import SPREAD_OWNERS, default_selector, owner_selector
from controlplane.scheduler.volumes import NO_CONSTRAINTS, VolumeConstraints, volume_constraints

log = structlog.get_logger("scheduler")

_SPREAD_SELECTORS_KEPT = 10_000


@dataclass
class Stats:
    attempts: int = 0
    assumed: int = 0
    bound: int = 0
    unschedulable: int = 0
    bind_failures: int = 0
    algorithm_cpu_seconds: float = 0.0  # CPU time of the decisions (filters and scores)
    first_bound: float | None = None  # wall clock
    last_bound: float | None = None
    logged: tuple[int, ...] = field(default=())

    def figures(self) -> dict[str, Any]:
        return {"attempts": self.attempts, "assumed": self.assumed, "bound": self.bound,
                "unschedulable": self.unschedulable, "bind_failures": self.bind_failures,
                "algorithm_cpu_seconds": round(self.algorithm_cpu_seconds, 3), "first_bound": self.first_bound,
                "last_bound": self.last_bound}


class Scheduler:
    def __init__(self, client: ApiClient, informers: InformerSet, config: SchedulerConfig) -> None:
        self.client = client
        self.config = config
        self.cache = SchedulerCache()
        self.queue = SchedulingQueue(config.pod_initial_backoff, config.pod_max_backoff,
                                     config.max_unschedulable_duration)
        self.algorithm = Algorithm(self.cache, config.percentage_of_nodes_to_score)
        self.binder = Binder(client, self._bound, self._bind_failed, config.parallel_binds, config.max_pending_binds)
        self.reporter = Reporter(client, EventRecorder(client, config.scheduler_name))
        self.stats = Stats()
        self._work = asyncio.Event()
        self._spread_selectors: dict[tuple[str, frozenset[tuple[str, str]], Owner | None], Selector | None] = {}
        self.pods = informers("Pod")
        self.nodes = informers("Node")
        self.services = informers("Service")
        self.replica_sets = informers("ReplicaSet")
        self.stateful_sets = informers("StatefulSet")
        self.claims = informers("PersistentVolumeClaim")
        self.volumes = informers("PersistentVolume")
        self.pods.add_handler(self._on_pod)
        self.nodes.add_handler(self._on_node)
        for owners in (self.services, self.replica_sets, self.stateful_sets):
            owners.add_handler(self._on_spreading_change)
        self.claims.add_handler(lambda old, new: self._on_volume_change(clusterevents.CLAIM_CHANGE, new))
        self.volumes.add_handler(lambda old, new: self._on_volume_change(clusterevents.VOLUME_CHANGE, new))

    @staticmethod
    def _now() -> float:
        return asyncio.get_running_loop().time()

    def _poke(self) -> None:
        self._work.set()

    # ------------------------------------------------------------------------------------- watch

    def _ours(self, pod: core_pb2.Pod) -> bool:
        """A pod waiting for this scheduler: no node, our schedulerName, not being deleted, not finished."""
        return (not pod.spec.node_name and pod.spec.scheduler_name in ("", self.config.scheduler_name)
                and not pod.metadata.deletion_timestamp and pod.status.phase not in TERMINAL_PHASES)

    def _on_pod(self, old: core_pb2.Pod | None, new: core_pb2.Pod | None) -> None:
        now = self._now()
        if new is None:
            assert old is not None
            key = object_key(old)
            self.queue.delete(key)
            if self.cache.remove_pod(key) is not None:
                self._cluster_event(clusterevents.ASSIGNED_POD_DELETE, now)
            return
        key = object_key(new)
        if new.spec.node_name:
            self.queue.delete(key)
            previous = self.cache.pods.get(key)
            if new.status.phase in TERMINAL_PHASES:
                if self.cache.remove_pod(key) is not None:
                    self._cluster_event(clusterevents.ASSIGNED_POD_DELETE, now)
                return
            was_assumed = self.cache.is_assumed(key)
            changed = self.cache.set_pod(pod_info(new, previous))
            if changed and previous is not None and not was_assumed:
                self._cluster_event(clusterevents.ASSIGNED_POD_UPDATE, now)
            return
        if not self._ours(new):
            self.queue.delete(key)
            return
        # A pod whose binding is on the way is in flight: the queue keeps this version for a retry
        # should the binding fail (and a stale copy that arrives after it succeeded is dropped
        # when popped, as the cache counts it already).
        self.queue.add(pod_info(new, self.queue.info(key)), now)
        self._poke()

    def _on_node(self, old: core_pb2.Node | None, new: core_pb2.Node | None) -> None:
        if new is None:
            assert old is not None
            self.cache.remove_node(old.metadata.name)
            return
        now = self._now()
        for event in clusterevents.node_events(self.cache.set_node(new)):
            self._cluster_event(event, now)

    def _on_spreading_change(self, old: Any, new: Any) -> None:
        self._spread_selectors.clear()

    def _on_volume_change(self, event: str, new: Any) -> None:
        if new is not None:
            self._cluster_event(event, self._now())

    def _cluster_event(self, event: str, now: float) -> None:
        if self.queue.on_event(event, now):
            self._poke()

    # ------------------------------------------------------------------------------------- deciding

    def _spread_selector(self, info: PodInfo) -> Selector | None:
        key = (info.namespace, frozenset(info.labels.items()), info.owner)
        if key in self._spread_selectors:
            return self._spread_selectors[key]
        owner_spread = None
        owner = info.owner
        if owner is not None and (owner.api_version, owner.kind) in SPREAD_OWNERS:
            lister = {"ReplicaSet": self.replica_sets, "StatefulSet": self.stateful_sets}.get(owner.kind)
            found = lister.get(info.namespace, owner.name) if lister is not None else None
            if isinstance(found, apps_pb2.ReplicaSet | apps_pb2.StatefulSet):
                owner_spread = owner_selector(found)
        services = self.services.by_index("namespace", info.namespace)
        selector = default_selector(info.labels, services, owner, owner_spread)
        if len(self._spread_selectors) >= _SPREAD_SELECTORS_KEPT:  # pods with labels of their own
            self._spread_selectors.clear()
        self._spread_selectors[key] = selector
        return selector

    def _volume_constraints(self, info: PodInfo) -> VolumeConstraints:
        if not info.claims:
            return NO_CONSTRAINTS
        return volume_constraints(info.namespace, info.claims, self.claims.get,
                                  lambda name: self.volumes.get("", name))

    def schedule_one(self, info: PodInfo, now: float) -> None:
        key = info.key
        if info.terminating or key in self.cache.pods:
            self.queue.done(key)
            return
        self.stats.attempts += 1
        started = time.thread_time()
        result = self.algorithm.schedule(info, self._volume_constraints(info), self._spread_selector(info))
        if isinstance(result, Placement):
            self.cache.assume(info, result.node)
            self.stats.algorithm_cpu_seconds += time.thread_time() - started
            self.stats.assumed += 1
            self.binder.submit(info, result.node)
            log.debug("pod.assumed", pod=key, node=result.node, evaluated=result.evaluated, feasible=result.feasible)
            return
        self.stats.algorithm_cpu_seconds += time.thread_time() - started
        self.stats.unschedulable += 1
        self.queue.failed(key, result.rejected_by, now)
        self.reporter.failed(info, result.message)
        log.info("pod.unschedulable", pod=key, message=result.message)

    def _bound(self, info: PodInfo, node: str) -> None:
        self.queue.done(info.key)
        self.reporter.scheduled(info, node)
        self.stats.bound += 1
        self.stats.last_bound = time.time()
        if self.stats.first_bound is None:
            self.stats.first_bound = self.stats.last_bound

    def _bind_failed(self, info: PodInfo, node: str, error: ApiError) -> None:
        self.cache.forget(info.key)
        self.stats.bind_failures += 1
        if error.reason is Reason.NOT_FOUND:
            self.queue.done(info.key)
            return
        self.queue.failed(info.key, frozenset(), self._now(), unschedulable=False)
        self.reporter.failed(info, error.message, messages.REASON_SCHEDULER_ERROR)
        self._poke()

    # ------------------------------------------------------------------------------------- running

    async def run(self) -> None:
        """Schedule until cancelled; the informers must be running and synced."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self.binder.run(), name="binder")
            group.create_task(self.reporter.run(), name="reporter")
            if self.config.stats_interval > 0:
                group.create_task(self._log_stats(), name="stats")
            group.create_task(self._schedule_forever(), name="scheduling")

    async def _schedule_forever(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            batch_end = loop.time() + self.config.batch_seconds
            self.queue.flush(loop.time())
            while True:
                queued = self.queue.pop()
                if queued is None:
                    break
                self.schedule_one(queued.info, loop.time())
                if loop.time() >= batch_end or self.binder.pending >= self.config.max_pending_binds:
                    break
            if self.binder.pending >= self.config.max_pending_binds:
                await self.binder.wait_for_room()
            elif self.queue.active:
                await asyncio.sleep(0)  # let watch events and binding replies through
            else:
                await self._wait_for_work()

    async def _wait_for_work(self) -> None:
        self._work.clear()
        wakeup = self.queue.next_wakeup()
        timeout = None if wakeup is None else max(0.0, wakeup - self._now())
        try:
            async with asyncio.timeout(timeout):
                await self._work.wait()
        except TimeoutError:
            pass

    async def _log_stats(self) -> None:
        while True:
            await asyncio.sleep(self.config.stats_interval)
            self.log_stats()

    def log_stats(self) -> None:
        figures = self.stats.figures()
        marker = (self.stats.attempts, self.stats.bound, self.stats.bind_failures, len(self.queue))
        if marker != self.stats.logged:
            self.stats.logged = marker
            log.info("scheduler.stats", **figures, waiting=len(self.queue), active=self.queue.active,
                     backing_off=self.queue.backing_off, unschedulable_pods=self.queue.unschedulable,
                     pending_binds=self.binder.pending, nodes=self.cache.node_count,
                     dropped_events=self.reporter.dropped_events)


async def serve(config: SchedulerConfig) -> None:
    client = connect(ClientConfig(server=config.server), timeout=30)
    try:
        informers = InformerSet(client)
        scheduler = Scheduler(client, informers, config)
        async with asyncio.TaskGroup() as group:
            group.create_task(informers.run(), name="informers")
            await informers.wait_synced()
            log.info("scheduler.serving", server=config.server, scheduler_name=config.scheduler_name,
                     nodes=scheduler.cache.node_count, waiting=len(scheduler.queue))
            try:
                await scheduler.run()
            finally:
                scheduler.log_stats()
    finally:
        await client.close()
