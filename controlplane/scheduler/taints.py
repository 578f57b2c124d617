"""The scheduler's taints and tolerations (hashable values, matched by Kubernetes' rules in
controlplane/api/taints.py), and the taints a node's conditions imply.

Kubernetes' node lifecycle controller turns a node's conditions into NoSchedule taints (Ready False
-> not-ready, Ready Unknown -> unreachable, MemoryPressure True -> memory-pressure, ...), and the
kubelet registers a new node with the not-ready one. The scheduler sees those taints only once they
are written; kubelab's scheduler reads them from the conditions too (`effective_taints`), so a node
that is not ready is never chosen in the moment before the controller has tainted it, and a pod
that tolerates the taint is treated exactly as Kubernetes treats it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from controlplane.api import taints as rules
from controlplane.api.taints import (
    CONDITION_TAINTS,
    NO_EXECUTE,
    NO_SCHEDULE,
    NOT_READY,
    PREFER_NO_SCHEDULE,
    Taint,
)
from controlplane.api.v1 import core_pb2


@dataclass(frozen=True, slots=True)
class Toleration:
    key: str
    operator: str
    value: str
    effect: str

    @classmethod
    def of(cls, toleration: core_pb2.Toleration) -> Toleration:
        return cls(toleration.key, toleration.operator, toleration.value, toleration.effect)

    def tolerates(self, taint: Taint) -> bool:
        return rules.tolerates(self, taint)


def tolerated(tolerations: Iterable[Toleration], taint: Taint) -> bool:
    return any(toleration.tolerates(taint) for toleration in tolerations)


def effective_taints(node: core_pb2.Node) -> tuple[Taint, ...]:
    """The node's taints, then the NoSchedule taints its conditions imply that it does not carry yet."""
    taints = [Taint(t.key, t.value, t.effect) for t in node.spec.taints]
    present = {(t.key, t.effect) for t in taints}
    conditions = {c.type: c.status for c in node.status.conditions}
    implied = [CONDITION_TAINTS.get(kind, {}).get(status) for kind, status in conditions.items()]
    if "Ready" not in conditions:
        implied.append(NOT_READY)
    for key in implied:
        if key is not None and (key, NO_SCHEDULE) not in present:
            taints.append(Taint(key, "", NO_SCHEDULE))
            present.add((key, NO_SCHEDULE))
    return tuple(taints)


def first_untolerated(taints: Sequence[Taint], tolerations: Sequence[Toleration]) -> Taint | None:
    """The first NoSchedule or NoExecute taint no toleration tolerates (TaintToleration's Filter)."""
    for taint in taints:
        if taint.effect in (NO_SCHEDULE, NO_EXECUTE) and not tolerated(tolerations, taint):
            return taint
    return None


def intolerable_prefer_no_schedule(taints: Sequence[Taint], tolerations: Sequence[Toleration]) -> int:
    """How many PreferNoSchedule taints the pod does not tolerate (TaintToleration's raw score); only
    tolerations with no effect or PreferNoSchedule count."""
    relevant = [t for t in tolerations if t.effect in ("", PREFER_NO_SCHEDULE)]
    return sum(1 for taint in taints if taint.effect == PREFER_NO_SCHEDULE and not tolerated(relevant, taint))
