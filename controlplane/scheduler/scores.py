"""The scores: how good is each feasible node? Pure functions over arrays (one element per node),
kube-scheduler's arithmetic to the integer, each giving 0-100 per node (MaxNodeScore), then weighted
and summed with kube-scheduler's default weights.

- NodeResourcesFit, LeastAllocated (weight 1): per resource (cpu, memory, weight 1 each) the free
  share after placing the pod, (allocatable - requested) * 100 / allocatable, with the non-zero
  requests; 0 when over; averaged over the resources the node has.
- NodeResourcesBalancedAllocation (weight 1): (1 - std of the used fractions) * 100, with the real
  requests; skipped for a pod that requests nothing.
- NodeAffinity (weight 2): the sum of the matching preferred terms' weights, scaled so the best node
  gets 100.
- TaintToleration (weight 3): the number of PreferNoSchedule taints not tolerated, scaled and
  reversed so the node with the fewest gets 100.
- PodTopologySpread with the system's default constraints (weight 2): pods of the same Services
  and controller on the node (hostname, maxSkew 3) and in its zone (zone, maxSkew 5), each count
  weighted by log(number of domains + 2) plus maxSkew - 1, then reversed between the least and
  the most crowded node.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

MAX_NODE_SCORE = 100
LEAST_ALLOCATED_WEIGHT = 1
BALANCED_ALLOCATION_WEIGHT = 1
NODE_AFFINITY_WEIGHT = 2
TAINT_TOLERATION_WEIGHT = 3
POD_TOPOLOGY_SPREAD_WEIGHT = 2
HOSTNAME_MAX_SKEW = 3
ZONE_MAX_SKEW = 5


def _least_requested(requested: IntArray, allocatable: IntArray) -> IntArray:
    safe = np.where(allocatable == 0, 1, allocatable)
    score = (allocatable - requested) * MAX_NODE_SCORE // safe
    return np.where((allocatable == 0) | (requested > allocatable), 0, score)


def least_allocated(alloc_cpu: IntArray, alloc_memory: IntArray, used_cpu: IntArray, used_memory: IntArray) -> IntArray:
    """`used_*`: the node's non-zero requests plus the pod's."""
    if alloc_cpu.min(initial=1) > 0 and alloc_memory.min(initial=1) > 0:  # the usual case, in fewer steps
        cpu: IntArray = np.maximum(alloc_cpu - used_cpu, 0) * MAX_NODE_SCORE // alloc_cpu
        memory: IntArray = np.maximum(alloc_memory - used_memory, 0) * MAX_NODE_SCORE // alloc_memory
        both: IntArray = (cpu + memory) // 2
        return both
    cpu = _least_requested(used_cpu, alloc_cpu)
    memory = _least_requested(used_memory, alloc_memory)
    weights = (alloc_cpu != 0).astype(np.int64) + (alloc_memory != 0).astype(np.int64)
    total = np.where(alloc_cpu != 0, cpu, 0) + np.where(alloc_memory != 0, memory, 0)
    return np.where(weights == 0, 0, total // np.maximum(weights, 1))


def balanced_allocation(alloc_cpu: IntArray, alloc_memory: IntArray, used_cpu: IntArray,
                        used_memory: IntArray) -> IntArray:
    """`used_*`: the node's requests plus the pod's."""
    if alloc_cpu.min(initial=1) > 0 and alloc_memory.min(initial=1) > 0:  # the usual case, in fewer steps
        cpu = np.minimum(used_cpu / alloc_cpu, 1.0)
        memory = np.minimum(used_memory / alloc_memory, 1.0)
        return np.trunc((1 - np.abs((cpu - memory) / 2)) * float(MAX_NODE_SCORE)).astype(np.int64)
    with np.errstate(divide="ignore", invalid="ignore"):
        cpu = np.minimum(used_cpu.astype(np.float64) / alloc_cpu.astype(np.float64), 1.0)
        memory = np.minimum(used_memory.astype(np.float64) / alloc_memory.astype(np.float64), 1.0)
    both = (alloc_cpu != 0) & (alloc_memory != 0)
    std = np.where(both, np.abs((cpu - memory) / 2), 0.0)
    return np.trunc((1 - std) * float(MAX_NODE_SCORE)).astype(np.int64)


def default_normalize(raw: IntArray, *, reverse: bool) -> IntArray:
    """Kubernetes' DefaultNormalizeScore: scale so the largest raw score becomes 100 (reversed:
    becomes 0); all zeros stay 0 (reversed: all become 100)."""
    highest = int(raw.max()) if raw.size else 0
    if highest == 0:
        return np.full_like(raw, MAX_NODE_SCORE if reverse else 0)
    scaled = MAX_NODE_SCORE * raw // highest
    return MAX_NODE_SCORE - scaled if reverse else scaled


def topology_weight(domains: int) -> float:
    return float(np.log(domains + 2))


def spread_raw(host_counts: IntArray, has_hostname: BoolArray, host_domains: int,
               zone_counts: IntArray | None = None, has_zone: BoolArray | None = None,
               zone_domains: int = 0) -> IntArray:
    """PodTopologySpread's raw score: for each constraint whose key the node has, the matching pods
    in the node's domain * log(domains + 2) + maxSkew - 1; the sum, rounded half away from zero."""
    score = np.where(has_hostname, host_counts * topology_weight(host_domains) + (HOSTNAME_MAX_SKEW - 1), 0.0)
    if zone_counts is not None and has_zone is not None:
        score = score + np.where(has_zone, zone_counts * topology_weight(zone_domains) + (ZONE_MAX_SKEW - 1), 0.0)
    return round_half_away(score)


def round_half_away(values: FloatArray) -> IntArray:
    """Go's math.Round for non-negative values (np.round rounds halves to even)."""
    low = np.floor(values)
    return np.where(values - low >= 0.5, low + 1, low).astype(np.int64)


def spread_normalize(raw: IntArray) -> IntArray:
    """100 * (max + min - score) / max: the least crowded node gets 100; all 100 when max is 0."""
    if not raw.size:
        return raw
    highest, lowest = int(raw.max()), int(raw.min())
    if highest == 0:
        return np.full_like(raw, MAX_NODE_SCORE)
    return MAX_NODE_SCORE * (highest + lowest - raw) // highest
