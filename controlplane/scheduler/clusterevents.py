"""Which changes of the cluster may make a pod that some filter refused schedulable again
(kube-scheduler's EventsToRegister per plugin): a pod refused only for want of cpu waits for a
node to be added, a node's allocatable to change, or a bound pod to go; a node's heartbeat or an
unrelated label moves nothing, so waiting pods are not retried in a busy loop."""

from __future__ import annotations

from collections.abc import Iterable

from controlplane.scheduler import messages
from controlplane.scheduler.cache import NodeChange

NODE_ADD = "NodeAdd"
NODE_LABEL = "NodeLabelChange"
NODE_TAINT = "NodeTaintChange"
NODE_UNSCHEDULABLE = "NodeSpecUnschedulableChange"
NODE_ALLOCATABLE = "NodeAllocatableChange"
ASSIGNED_POD_DELETE = "AssignedPodDelete"  # deleted, or finished (Succeeded/Failed)
ASSIGNED_POD_UPDATE = "AssignedPodUpdate"  # its requests or host ports changed
CLAIM_CHANGE = "PersistentVolumeClaimChange"
VOLUME_CHANGE = "PersistentVolumeChange"
UNSCHEDULABLE_TIMEOUT = "UnschedulableTimeout"  # the periodic flush: moves every waiting pod

INTERESTS: dict[str, frozenset[str]] = {
    messages.NODE_UNSCHEDULABLE: frozenset({NODE_ADD, NODE_UNSCHEDULABLE, NODE_TAINT}),
    messages.TAINT_TOLERATION: frozenset({NODE_ADD, NODE_TAINT}),
    messages.NODE_AFFINITY: frozenset({NODE_ADD, NODE_LABEL}),
    messages.NODE_PORTS: frozenset({NODE_ADD, ASSIGNED_POD_DELETE, ASSIGNED_POD_UPDATE}),
    messages.NODE_RESOURCES_FIT: frozenset({NODE_ADD, NODE_ALLOCATABLE, ASSIGNED_POD_DELETE, ASSIGNED_POD_UPDATE}),
    messages.VOLUME_BINDING: frozenset({NODE_ADD, NODE_LABEL, CLAIM_CHANGE, VOLUME_CHANGE}),
}


def node_events(change: NodeChange) -> list[str]:
    if change.added:
        return [NODE_ADD]
    events = []
    if change.labels:
        events.append(NODE_LABEL)
    if change.taints:
        events.append(NODE_TAINT)
    if change.unschedulable:
        events.append(NODE_UNSCHEDULABLE)
    if change.allocatable:
        events.append(NODE_ALLOCATABLE)
    return events


def may_help(event: str, rejected_by: Iterable[str]) -> bool:
    """Whether `event` may make schedulable a pod the plugins `rejected_by` refused (all events may,
    when no plugin is named: the pod failed for want of any node at all)."""
    plugins = list(rejected_by)
    if event == UNSCHEDULABLE_TIMEOUT or not plugins:
        return True
    return any(event in INTERESTS.get(plugin, ()) for plugin in plugins)
