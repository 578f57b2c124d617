"""Taints and tolerations: the well-known keys and Kubernetes' matching rules. Pure.

The node lifecycle controller puts the node.kubernetes.io/* taints on nodes, the API server gives
every pod tolerations for two of them, and the taint eviction controller (and a scheduler) ask
whether a pod's tolerations cover a node's taints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from controlplane.api.v1 import core_pb2

NOT_READY = "node.kubernetes.io/not-ready"
UNREACHABLE = "node.kubernetes.io/unreachable"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
MEMORY_PRESSURE = "node.kubernetes.io/memory-pressure"
DISK_PRESSURE = "node.kubernetes.io/disk-pressure"
PID_PRESSURE = "node.kubernetes.io/pid-pressure"
NETWORK_UNAVAILABLE = "node.kubernetes.io/network-unavailable"
OUT_OF_SERVICE = "node.kubernetes.io/out-of-service"

NO_SCHEDULE = "NoSchedule"
PREFER_NO_SCHEDULE = "PreferNoSchedule"
NO_EXECUTE = "NoExecute"


# condition type -> {condition status -> the key of the NoSchedule taint it calls for}
CONDITION_TAINTS: dict[str, dict[str, str]] = {
    "Ready": {"False": NOT_READY, "Unknown": UNREACHABLE},
    "MemoryPressure": {"True": MEMORY_PRESSURE},
    "DiskPressure": {"True": DISK_PRESSURE},
    "PIDPressure": {"True": PID_PRESSURE},
    "NetworkUnavailable": {"True": NETWORK_UNAVAILABLE},
}


class TaintLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def effect(self) -> str: ...


class TolerationLike(TaintLike, Protocol):
    @property
    def operator(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Taint:
    """A taint as a value (hashable), where a message will not do: a flag's, a scheduler cache's."""
    key: str
    value: str
    effect: str


def tolerates(toleration: TolerationLike, taint: TaintLike) -> bool:
    """Kubernetes' Toleration.ToleratesTaint: an empty effect matches every effect, an empty key
    (with Exists) every key; Equal (or no operator) also compares the value."""
    if toleration.effect and toleration.effect != taint.effect:
        return False
    if toleration.key and toleration.key != taint.key:
        return False
    if toleration.operator in ("", "Equal"):
        return toleration.value == taint.value
    return toleration.operator == "Exists"


def first_toleration(tolerations: Iterable[core_pb2.Toleration],
                     taint: core_pb2.Taint) -> core_pb2.Toleration | None:
    """The first toleration that covers the taint (the one Kubernetes' GetMatchingTolerations uses)."""
    return next((toleration for toleration in tolerations if tolerates(toleration, taint)), None)


def has_taint(taints: Sequence[core_pb2.Taint], key: str, effect: str) -> bool:
    return any(taint.key == key and taint.effect == effect for taint in taints)
