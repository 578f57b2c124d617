"""What workload controllers read off a pod, as Kubernetes' podutil does: active, ready, ready since
when, available after minReadySeconds, restarts. Pure: the time is passed in."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from controlplane.api.timestamps import parse_time
from controlplane.api.v1 import core_pb2, meta_pb2

TERMINAL_PHASES = ("Succeeded", "Failed")
_GO_INT = re.compile("[+-]?[0-9]+")


def is_active(pod: core_pb2.Pod) -> bool:
    """Neither finished nor being deleted (Kubernetes' IsPodActive)."""
    return pod.status.phase not in TERMINAL_PHASES and not pod.metadata.deletion_timestamp


def ready_condition(pod: core_pb2.Pod) -> meta_pb2.Condition | None:
    return next((c for c in pod.status.conditions if c.type == "Ready"), None)


def is_ready(pod: core_pb2.Pod) -> bool:
    condition = ready_condition(pod)
    return condition is not None and condition.status == "True"


def ready_since(pod: core_pb2.Pod) -> datetime | None:
    """When a ready pod turned ready (its Ready condition's lastTransitionTime); None otherwise."""
    condition = ready_condition(pod)
    if condition is None or condition.status != "True":
        return None
    return parse_time(condition.last_transition_time)


def available_at(pod: core_pb2.Pod, min_ready_seconds: int) -> datetime | None:
    """When a ready pod counts as available (ready for minReadySeconds); None if it is not ready or
    its ready time is unknown while minReadySeconds asks for one."""
    if not is_ready(pod):
        return None
    since = ready_since(pod)
    if min_ready_seconds == 0:
        return since or datetime.min.replace(tzinfo=UTC)
    if since is None:
        return None
    return since + timedelta(seconds=min_ready_seconds)


def is_available(pod: core_pb2.Pod, min_ready_seconds: int, now: datetime) -> bool:
    """Ready, and (with minReadySeconds) ready for longer than that (Kubernetes' IsPodAvailable)."""
    if not is_ready(pod):
        return False
    if min_ready_seconds == 0:
        return True
    at = available_at(pod, min_ready_seconds)
    return at is not None and at < now


def max_restarts(pod: core_pb2.Pod) -> int:
    return max((status.restart_count for status in pod.status.container_statuses), default=0)


def deletion_cost(pod: core_pb2.Pod) -> int:
    """The `controller.kubernetes.io/pod-deletion-cost` annotation (0 when absent or not an int32)."""
    text = pod.metadata.annotations.get("controller.kubernetes.io/pod-deletion-cost", "")
    if _GO_INT.fullmatch(text) is None:  # as Go's ParseInt reads it: no spaces, no underscores
        return 0
    value = int(text)
    return value if -(2**31) <= value < 2**31 else 0
