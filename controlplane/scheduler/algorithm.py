"""One scheduling decision (kube-scheduler's schedulePod): find feasible nodes, score them, pick the
best. Synchronous and free of I/O: it reads the cache and returns a node or the reasons none fits.

The search is kube-scheduler's: with more than 100 nodes it stops once it has found
max(100, nodes * max(5, 50 - nodes/125) / 100) feasible ones (percentageOfNodesToScore, adaptive
unless set), starting where the previous search stopped, so that successive pods look at different
nodes. Every filter runs over all nodes at once on the cache's columns; scores run on the nodes
found. Ties between the best nodes are broken at random. When nothing fits, every node's reasons
are counted into kube-scheduler's FitError message.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

import numpy as np

from controlplane.api.labels import Selector
from controlplane.scheduler import messages, scores
from controlplane.scheduler.cache import SchedulerCache
from controlplane.scheduler.filters import node_ports, resources_fit, static_verdict
from controlplane.scheduler.nodeaffinity import preferred_score, required_affinity_matches
from controlplane.scheduler.podinfo import PodInfo
from controlplane.scheduler.staticmasks import StaticEntry
from controlplane.scheduler.taints import intolerable_prefer_no_schedule
from controlplane.scheduler.volumes import NO_CONSTRAINTS, VolumeConstraints, volume_verdict

MIN_FEASIBLE_NODES_TO_FIND = 100
MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5


@dataclass(frozen=True, slots=True)
class Placement:
    node: str
    evaluated: int  # nodes looked at
    feasible: int  # nodes that fit, among them


@dataclass(frozen=True, slots=True)
class FitFailure:
    message: str  # the FailedScheduling message
    rejected_by: frozenset[str]  # the plugins that refused nodes (decides which events retry the pod)


def feasible_nodes_to_find(nodes: int, percentage: int = 0) -> int:
    """kube-scheduler's numFeasibleNodesToFind; `percentage` 0 = adaptive."""
    if nodes < MIN_FEASIBLE_NODES_TO_FIND:
        return nodes
    if percentage == 0:
        percentage = max(50 - nodes // 125, MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND)
    if percentage >= 100:
        return nodes
    return max(nodes * percentage // 100, MIN_FEASIBLE_NODES_TO_FIND)


class Algorithm:
    def __init__(self, cache: SchedulerCache, percentage: int = 0, rng: random.Random | None = None) -> None:
        self.cache = cache
        self.percentage = percentage
        self.rng = rng or random.Random()
        self.next_start = 0

    def schedule(self, pod: PodInfo, volumes: VolumeConstraints = NO_CONSTRAINTS,
                 spread: Selector | None = None) -> Placement | FitFailure:
        cache, table = self.cache, self.cache.table
        size = table.size
        if size == 0:
            return FitFailure(messages.NO_NODES_AVAILABLE, frozenset())
        if volumes.prefilter:
            return FitFailure(messages.fit_error_message(size, {}, volumes.prefilter),
                              frozenset({messages.VOLUME_BINDING}))
        if pod.required_names is not None:
            if not pod.required_names:
                return FitFailure(messages.fit_error_message(size, {}, messages.AFFINITY_TERMS_CONFLICT),
                                  frozenset({messages.NODE_AFFINITY}))
            return self._schedule_among_named(pod, volumes, spread)
        entry = cache.static.entry(pod)
        feasible = table.view(entry.ok).copy()
        if pod.host_ports:
            feasible &= ~cache.port_conflicts(pod.host_ports)
        feasible &= self._resources_fit(pod)
        if not volumes.none:
            for slot in np.flatnonzero(feasible):
                if volume_verdict(volumes, table.facts[slot]) is not None:
                    feasible[slot] = False
        found = np.flatnonzero(feasible)
        if found.size == 0:
            return self._diagnose(pod, entry, volumes)
        # The feasible slots in search order: from next_start to the end, then from the beginning.
        start = self.next_start
        split = int(np.searchsorted(found, start))
        if split:
            found = np.concatenate((found[split:], found[:split]))
        wanted = feasible_nodes_to_find(size, self.percentage)
        if found.size >= wanted:
            candidates = found[:wanted]
            evaluated = (int(candidates[-1]) - start) % size + 1
        else:
            candidates = found
            evaluated = size
        self.next_start = (start + evaluated) % size
        if candidates.size == 1:
            return Placement(table.names[int(candidates[0])], evaluated, 1)
        totals = self._scores(pod, candidates, table[entry.preferred][candidates], table[entry.intolerable][candidates],
                              table.view(entry.affine), spread)
        return Placement(self._best(candidates, totals), evaluated, int(candidates.size))

    def _best(self, candidates: np.ndarray, totals: np.ndarray) -> str:  # type: ignore[type-arg]
        best = np.flatnonzero(totals == totals.max())
        return self.cache.table.names[int(candidates[best[self.rng.randrange(best.size)]])]

    def _schedule_among_named(self, pod: PodInfo, volumes: VolumeConstraints,
                              spread: Selector | None) -> Placement | FitFailure:
        """NodeAffinity's PreFilter named the only nodes the pod may go to (a DaemonSet's pod names
        one): those are filtered one by one, and the others left out, as kube-scheduler leaves them
        out. No per-template columns are made for such a pod: it would be one per node."""
        table = self.cache.table
        size = table.size
        assert pod.required_names is not None
        slots = sorted(table.slots[name] for name in pod.required_names if name in table.slots)
        reasons: Counter[str] = Counter()
        plugins: set[str] = set()
        if size > len(slots):
            reasons[messages.absent_from_prefilter([messages.NODE_AFFINITY])] += size - len(slots)
            plugins.add(messages.NODE_AFFINITY)
        feasible = []
        for slot in slots:
            refusal = self._refusal(pod, slot, volumes)
            if refusal is None:
                feasible.append(slot)
            else:
                plugins.add(refusal[0])
                reasons.update(refusal[1])
        if not feasible:
            return FitFailure(messages.fit_error_message(size, reasons), frozenset(plugins))
        candidates = np.array(feasible, dtype=np.int64)
        if candidates.size == 1:
            return Placement(table.names[feasible[0]], len(slots), 1)
        facts = [table.facts[slot] for slot in feasible]
        terms = pod.spec.affinity.node_affinity.preferred_during_scheduling_ignored_during_execution
        preferred = np.array([preferred_score(terms, f.labels, f.name) for f in facts], dtype=np.int64)
        intolerable = np.array([intolerable_prefer_no_schedule(f.taints, pod.tolerations) for f in facts],
                               dtype=np.int64)
        affine = np.zeros(size, dtype=np.bool_)
        for slot in slots:
            affine[slot] = required_affinity_matches(pod.spec, table.facts[slot].labels, table.names[slot])
        totals = self._scores(pod, candidates, preferred, intolerable, affine, spread)
        return Placement(self._best(candidates, totals), len(slots), int(candidates.size))

    def _refusal(self, pod: PodInfo, slot: int, volumes: VolumeConstraints) -> tuple[str, list[str]] | None:
        """The first filter refusing the node in `slot`, with its reasons (filters.py, node by node)."""
        facts = self.cache.table.facts[slot]
        verdict = static_verdict(pod, facts)
        if verdict is not None:
            return verdict[0], [verdict[1]]
        if pod.host_ports and node_ports(pod.host_ports, self.cache.ports_on(slot)) is not None:
            return messages.NODE_PORTS, [messages.NO_FREE_PORTS]
        requested, count = self.cache.requested_on(slot)
        refused = resources_fit(pod.requests, facts.allocatable, requested, count)
        if refused:
            return messages.NODE_RESOURCES_FIT, refused
        verdict_of_volumes = volume_verdict(volumes, facts) if not volumes.none else None
        if verdict_of_volumes is not None:
            return messages.VOLUME_BINDING, [verdict_of_volumes]
        return None

    # ------------------------------------------------------------------------------------- filters

    def _resources_fit(self, pod: PodInfo) -> np.ndarray:  # type: ignore[type-arg]
        """NodeResourcesFit over every node (filters.resources_fit, on columns)."""
        table, request = self.cache.table, pod.requests
        fits = table.view("free_pods") >= 1
        if request.is_zero:
            return fits
        if request.cpu > 0:
            fits &= table.view("free_cpu") >= request.cpu
        if request.memory > 0:
            fits &= table.view("free_memory") >= request.memory
        if request.ephemeral_storage > 0:
            fits &= table.view("free_ephemeral") >= request.ephemeral_storage
        if any(request.scalars.values()):  # extended resources are rare: node by node
            for slot in np.flatnonzero(fits):
                requested, count = self.cache.requested_on(int(slot))
                if resources_fit(request, table.facts[slot].allocatable, requested, count):
                    fits[slot] = False
        return fits

    def _diagnose(self, pod: PodInfo, entry: StaticEntry, volumes: VolumeConstraints) -> FitFailure:
        """Every node's reasons, from the first filter that refuses it, counted."""
        cache, table = self.cache, self.cache.table
        reasons: Counter[str] = Counter()
        plugins: set[str] = set()
        ok = table.view(entry.ok)
        codes = table.view(entry.reason)[~ok]
        for code, count in zip(*np.unique(codes, return_counts=True), strict=True):
            plugin, reason = entry.reasons[int(code)]
            reasons[reason] += int(count)
            plugins.add(plugin)
        alive = ok.copy()
        if pod.host_ports:
            taken = alive & cache.port_conflicts(pod.host_ports)
            if taken.any():
                reasons[messages.NO_FREE_PORTS] += int(taken.sum())
                plugins.add(messages.NODE_PORTS)
                alive &= ~taken
        for slot in np.flatnonzero(alive):
            requested, count = cache.requested_on(int(slot))
            refused = resources_fit(pod.requests, table.facts[slot].allocatable, requested, count)
            if refused:
                reasons.update(refused)
                plugins.add(messages.NODE_RESOURCES_FIT)
                alive[slot] = False
                continue
            verdict = volume_verdict(volumes, table.facts[slot]) if not volumes.none else None
            if verdict is not None:
                reasons[verdict] += 1
                plugins.add(messages.VOLUME_BINDING)
        return FitFailure(messages.fit_error_message(table.size, reasons), frozenset(plugins))

    # ------------------------------------------------------------------------------------- scores

    def _scores(self, pod: PodInfo, candidates: np.ndarray, preferred: np.ndarray,  # type: ignore[type-arg]
                intolerable: np.ndarray, affine: np.ndarray,  # type: ignore[type-arg]
                spread: Selector | None) -> np.ndarray:  # type: ignore[type-arg]
        """The weighted sum of the scores of the `candidates` slots; `preferred` and `intolerable` are
        their raw NodeAffinity and TaintToleration scores, `affine` says for every slot whether the
        pod's required affinity matches it (spreading counts pods there)."""
        table = self.cache.table
        alloc_cpu = table["alloc_cpu"][candidates]
        alloc_memory = table["alloc_memory"][candidates]
        total = scores.LEAST_ALLOCATED_WEIGHT * scores.least_allocated(
            alloc_cpu, alloc_memory, table["nz_cpu"][candidates] + pod.non_zero.cpu,
            table["nz_memory"][candidates] + pod.non_zero.memory)
        if pod.requests.cpu or pod.requests.memory:
            total += scores.BALANCED_ALLOCATION_WEIGHT * scores.balanced_allocation(
                alloc_cpu, alloc_memory, table["req_cpu"][candidates] + pod.requests.cpu,
                table["req_memory"][candidates] + pod.requests.memory)
        if pod.spec.affinity.node_affinity.preferred_during_scheduling_ignored_during_execution:
            total += scores.NODE_AFFINITY_WEIGHT * scores.default_normalize(preferred, reverse=False)
        # No preferred terms: every node scores 0 (the plugin is skipped, as kube-scheduler skips it).
        total += scores.TAINT_TOLERATION_WEIGHT * scores.default_normalize(intolerable, reverse=True)
        if spread is not None:
            total += scores.POD_TOPOLOGY_SPREAD_WEIGHT * scores.spread_normalize(
                self._spread_raw(pod, affine, candidates, spread))
        return total

    def _spread_raw(self, pod: PodInfo, affine: np.ndarray, candidates: np.ndarray,  # type: ignore[type-arg]
                    spread: Selector) -> np.ndarray:  # type: ignore[type-arg]
        table = self.cache.table
        counts_column = table[self.cache.spread.column(pod.namespace, spread)]
        host_counts = counts_column[candidates]
        has_hostname = table["has_hostname"][candidates]
        zone_of = table["zone"][candidates]
        if not self.cache.zones or (zone_of < 0).all():
            return scores.spread_raw(host_counts, has_hostname, int(candidates.size))
        # The zone constraint counts the matching pods of every node the pod could be placed on by
        # its nodeSelector and required affinity, per zone; its domains are the candidates' zones
        # (nodes without the label make one more, unnamed, domain).
        size = table.size
        everywhere = table.view("zone")
        counted = affine & (everywhere >= 0)
        per_zone = np.bincount(everywhere[counted], weights=counts_column[:size][counted],
                               minlength=len(self.cache.zones)).astype(np.int64)
        has_zone = zone_of >= 0
        zone_counts = np.where(has_zone, per_zone[np.where(has_zone, zone_of, 0)], 0)
        domains = len(set(zone_of.tolist()))
        return scores.spread_raw(host_counts, has_hostname, int(candidates.size), zone_counts, has_zone, domains)
