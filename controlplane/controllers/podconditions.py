"""Setting a condition in an object's status, and the DisruptionTarget condition Kubernetes puts on
a pod it is about to delete for a reason of its own (taint eviction, pod GC)."""

from __future__ import annotations

from typing import Any

from controlplane.api.v1 import meta_pb2

DISRUPTION_TARGET = "DisruptionTarget"


def with_condition(conditions: Any, fresh: meta_pb2.Condition) -> None:
    """Set (or replace) the condition of fresh's type in a repeated conditions field; one that
    already says the same (status and reason) is left with its transition time."""
    for existing in conditions:
        if existing.type == fresh.type:
            if existing.status == fresh.status and existing.reason == fresh.reason:
                return
            existing.CopyFrom(fresh)
            return
    conditions.append(fresh)


def disruption_target(reason: str, message: str, now: str) -> meta_pb2.Condition:
    return meta_pb2.Condition(type=DISRUPTION_TARGET, status="True", reason=reason, message=message,
                              last_transition_time=now)
