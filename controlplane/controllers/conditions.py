"""Status conditions of workloads, kept as Kubernetes' deployment util keeps them. Pure."""

from __future__ import annotations

from collections.abc import MutableSequence

from controlplane.api.v1 import meta_pb2


def get(conditions: MutableSequence[meta_pb2.Condition], kind: str) -> meta_pb2.Condition | None:
    return next((c for c in conditions if c.type == kind), None)


def new(kind: str, status: str, reason: str, message: str, now: str) -> meta_pb2.Condition:
    return meta_pb2.Condition(type=kind, status=status, reason=reason, message=message,
                              last_update_time=now, last_transition_time=now)


def set_condition(conditions: MutableSequence[meta_pb2.Condition], condition: meta_pb2.Condition) -> None:
    """Put `condition` in place of the one of its type. Nothing changes when the status and reason
    are the same; the transition time stays when only the reason changes (SetDeploymentCondition)."""
    current = get(conditions, condition.type)
    if current is not None and current.status == condition.status and current.reason == condition.reason:
        return
    if current is not None and current.status == condition.status:
        condition.last_transition_time = current.last_transition_time
    remove(conditions, condition.type)
    conditions.append(condition)


def remove(conditions: MutableSequence[meta_pb2.Condition], kind: str) -> None:
    kept = [_copy(c) for c in conditions if c.type != kind]
    del conditions[:]
    conditions.extend(kept)


def _copy(condition: meta_pb2.Condition) -> meta_pb2.Condition:
    copy = meta_pb2.Condition()
    copy.CopyFrom(condition)
    return copy
