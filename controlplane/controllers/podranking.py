"""Which pods a ReplicaSet deletes first when it has too many: Kubernetes' ActivePodsWithRanks order,
with pod-deletion-cost and logarithmic scale-down (both on by default in Kubernetes). Pure.

Earlier in the order = deleted first:
1. not yet scheduled (no node) before scheduled;
2. Pending before Unknown before Running;
3. not ready before ready;
4. a lower `controller.kubernetes.io/pod-deletion-cost` first;
5. a pod on a node crowded with more pods of the same workload (its rank) first;
6. of two ready pods, the one ready for less time first (compared on a log2 scale of how long ago,
   so pods that turned ready at about the same time count as equal and their UIDs decide);
7. more container restarts first;
8. newer first (log2 scale of age again, UIDs deciding a tie).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from datetime import datetime, timedelta

from controlplane.api.timestamps import parse_time
from controlplane.api.v1 import core_pb2
from controlplane.controllers.podfacts import deletion_cost, is_active, is_ready, max_restarts, ready_since

_PHASE_ORDER = {"Pending": 0, "Unknown": 1, "Running": 2}  # any other phase counts as 0, as in Go's map


def ranks_by_node(pods: Sequence[core_pb2.Pod], related: Sequence[core_pb2.Pod]) -> list[int]:
    """For each pod, how many active pods of `related` (the workload's pods, across its ReplicaSets)
    run on its node."""
    on_node: dict[str, int] = {}
    for pod in related:
        if is_active(pod):
            on_node[pod.spec.node_name] = on_node.get(pod.spec.node_name, 0) + 1
    return [on_node.get(pod.spec.node_name, 0) for pod in pods]


def _log_rank(moment: datetime, now: datetime) -> int:
    """floor(log2(nanoseconds since `moment`)), -1 for a moment not in the past (Kubernetes' buckets)."""
    nanoseconds = (now - moment) // timedelta(microseconds=1) * 1000
    return int(math.log2(nanoseconds)) if nanoseconds > 0 else -1


def _newer_first(first: datetime | None, second: datetime | None, uid_first: str, uid_second: str,
                 now: datetime | None) -> bool | None:
    """Whether `first` sorts before `second` by "more recent first" (None: a tie to pass on)."""
    if first == second:
        return None
    if first is None or second is None:
        return first is None  # an unknown time counts as the most recent
    if now is None:
        return first > second
    difference = _log_rank(first, now) - _log_rank(second, now)
    if difference == 0:
        return uid_first < uid_second
    return difference < 0


def _before(a: core_pb2.Pod, rank_a: int, b: core_pb2.Pod, rank_b: int, now: datetime | None) -> bool:
    """True when `a` should be deleted before `b` (Kubernetes' Less)."""
    node_a, node_b = a.spec.node_name, b.spec.node_name
    if node_a != node_b and (not node_a or not node_b):
        return not node_a
    phase_a, phase_b = _PHASE_ORDER.get(a.status.phase, 0), _PHASE_ORDER.get(b.status.phase, 0)
    if phase_a != phase_b:
        return phase_a < phase_b
    ready_a, ready_b = is_ready(a), is_ready(b)
    if ready_a != ready_b:
        return not ready_a
    cost_a, cost_b = deletion_cost(a), deletion_cost(b)
    if cost_a != cost_b:
        return cost_a < cost_b
    if rank_a != rank_b:
        return rank_a > rank_b
    if ready_a and ready_b:
        decided = _newer_first(ready_since(a), ready_since(b), a.metadata.uid, b.metadata.uid, now)
        if decided is not None:
            return decided
    restarts_a, restarts_b = max_restarts(a), max_restarts(b)
    if restarts_a != restarts_b:
        return restarts_a > restarts_b
    decided = _newer_first(parse_time(a.metadata.creation_timestamp), parse_time(b.metadata.creation_timestamp),
                           a.metadata.uid, b.metadata.uid, now)
    return bool(decided)


def deletion_order(pods: Sequence[core_pb2.Pod], ranks: Sequence[int], now: datetime | None) -> list[core_pb2.Pod]:
    """`pods` sorted so that the first ones are the ones to delete first."""
    ranked = list(zip(pods, ranks, strict=True))

    def compare(x: tuple[core_pb2.Pod, int], y: tuple[core_pb2.Pod, int]) -> int:
        if _before(x[0], x[1], y[0], y[1], now):
            return -1
        if _before(y[0], y[1], x[0], x[1], now):
            return 1
        return 0

    ranked.sort(key=functools.cmp_to_key(compare))
    return [pod for pod, _ in ranked]


def pods_to_delete(pods: Sequence[core_pb2.Pod], related: Sequence[core_pb2.Pod], count: int,
                   now: datetime | None) -> list[core_pb2.Pod]:
    """The `count` pods of `pods` to delete first (all of them, unsorted, when that is all)."""
    if count >= len(pods):
        return list(pods)
    return deletion_order(pods, ranks_by_node(pods, related), now)[:count]
