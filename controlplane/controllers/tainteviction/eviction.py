"""When a pod must leave a node because of the node's NoExecute taints. Pure.

Kubernetes' rule: a taint no toleration of the pod covers evicts the pod at once; a covering
toleration without tolerationSeconds lets it stay for good; with tolerationSeconds it stays that
long (0 or less: not at all). Several taints: the earliest deadline wins. Each taint is matched by
the pod's first toleration that covers it.

The clock starts when the taint was added (its timeAdded, which the node lifecycle controller
sets; the caller supplies when it first saw a taint that has none), or when the pod was created
if that is later (a pod that arrives on an already tainted node gets its whole toleration).
Kubernetes starts it when its taint manager first sees the pair, which a restart of the
controller manager resets; counting from timeAdded survives restarts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from controlplane.api import taints
from controlplane.api.v1 import core_pb2

NOW = -math.inf  # evict at once


@dataclass(frozen=True, slots=True)
class TaintSince:
    taint: core_pb2.Taint
    since: float  # seconds since the epoch


def eviction_deadline(tainted: Sequence[TaintSince], tolerations: Sequence[core_pb2.Toleration],
                      pod_created: float) -> float | None:
    """When the pod must be evicted (seconds since the epoch; NOW for at once), None for never.
    `tainted` are the node's NoExecute taints."""
    deadline = math.inf
    for item in tainted:
        if item.taint.effect != taints.NO_EXECUTE:
            continue
        toleration = taints.first_toleration(tolerations, item.taint)
        if toleration is None:
            return NOW
        if not toleration.HasField("toleration_seconds"):
            continue
        if toleration.toleration_seconds <= 0:
            return NOW
        deadline = min(deadline, max(item.since, pod_created) + toleration.toleration_seconds)
    return None if deadline == math.inf else deadline
