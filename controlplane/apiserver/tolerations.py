"""Kubernetes' DefaultTolerationSeconds admission: every Pod that does not already tolerate the
not-ready and unreachable NoExecute taints gets a toleration for each, for a bounded time.

That is how a pod leaves a node that died: the node lifecycle controller taints the node, and the
taint eviction controller deletes the pod once its toleration has run out (300 s by default; the
API server's `--default-not-ready-toleration-seconds` and `--default-unreachable-toleration-seconds`
change it, and the lab shortens it so a stopped worker's pods move within seconds).
"""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.api import taints
from controlplane.api.v1 import core_pb2

DEFAULT_TOLERATION_SECONDS = 300


@dataclass(frozen=True, slots=True)
class DefaultTolerations:
    not_ready_seconds: int = DEFAULT_TOLERATION_SECONDS
    unreachable_seconds: int = DEFAULT_TOLERATION_SECONDS


def add_default_tolerations(spec: core_pb2.PodSpec, defaults: DefaultTolerations) -> None:
    """Append the missing default tolerations. A toleration with the taint's key (or no key) and the
    NoExecute effect (or no effect) counts as tolerating it, whatever its operator, as in Kubernetes."""

    def tolerated(key: str) -> bool:
        return any(t.key in (key, "") and t.effect in (taints.NO_EXECUTE, "") for t in spec.tolerations)

    for key, seconds in ((taints.NOT_READY, defaults.not_ready_seconds),
                         (taints.UNREACHABLE, defaults.unreachable_seconds)):
        if not tolerated(key):
            spec.tolerations.add(key=key, operator="Exists", effect=taints.NO_EXECUTE, toleration_seconds=seconds)
