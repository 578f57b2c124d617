"""What the scheduler says, in kube-scheduler's exact words: the reasons its filters give for a node,
and the FailedScheduling message that counts them (FitError.Error).

    fit_error_message(3, Counter({"Insufficient cpu": 2, untolerated_taint("a", ""): 1}))
    -> "0/3 nodes are available: 1 node(s) had untolerated taint {a: }, 2 Insufficient cpu."
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Plugin names (kube-scheduler's), used to say which plugins rejected a pod and so which cluster
# events may make it schedulable again.
NODE_UNSCHEDULABLE = "NodeUnschedulable"
TAINT_TOLERATION = "TaintToleration"
NODE_AFFINITY = "NodeAffinity"
NODE_PORTS = "NodePorts"
NODE_RESOURCES_FIT = "NodeResourcesFit"
VOLUME_BINDING = "VolumeBinding"

# Per-node reasons.
UNSCHEDULABLE = "node(s) were unschedulable"
AFFINITY_MISMATCH = "node(s) didn't match Pod's node affinity/selector"
NO_FREE_PORTS = "node(s) didn't have free ports for the requested pod ports"
TOO_MANY_PODS = "Too many pods"
VOLUME_NODE_CONFLICT = "node(s) had volume node affinity conflict"
PV_NOT_EXIST = "node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)"

# Whole-pod reasons (a PreFilter's verdict: no node was looked at).
AFFINITY_TERMS_CONFLICT = "pod affinity terms conflict"
UNBOUND_IMMEDIATE_CLAIMS = "pod has unbound immediate PersistentVolumeClaims"
NO_NODES_AVAILABLE = "no nodes available to schedule pods"

# PodScheduled condition and events.
POD_SCHEDULED = "PodScheduled"
REASON_UNSCHEDULABLE = "Unschedulable"
REASON_SCHEDULER_ERROR = "SchedulerError"
EVENT_FAILED_SCHEDULING = "FailedScheduling"
EVENT_SCHEDULED = "Scheduled"
DEFAULT_SCHEDULER_NAME = "default-scheduler"


def untolerated_taint(key: str, value: str) -> str:
    return f"node(s) had untolerated taint {{{key}: {value}}}"


def insufficient(resource: str) -> str:
    return f"Insufficient {resource}"


def absent_from_prefilter(plugins: Iterable[str]) -> str:
    """The reason of every node a PreFilter left out (sets.List prints a sorted Go slice)."""
    return f"node(s) didn't satisfy plugin(s) [{' '.join(sorted(plugins))}]"


def claim_not_found(name: str) -> str:
    return f'persistentvolumeclaim "{name}" not found'


def claim_being_deleted(name: str) -> str:
    return f'persistentvolumeclaim "{name}" is being deleted'


def successfully_assigned(namespace: str, name: str, node: str) -> str:
    return f"Successfully assigned {namespace}/{name} to {node}"


def fit_error_message(all_nodes: int, reasons: Mapping[str, int], prefilter: str = "") -> str:
    """`0/N nodes are available: ...`: a PreFilter's message when one stopped the pod, otherwise each
    node's reasons counted ("<count> <reason>") and sorted as strings, as FitError.Error does."""
    message = f"0/{all_nodes} nodes are available:"
    if prefilter:
        return f"{message} {prefilter}."
    histogram = sorted(f"{count} {reason}" for reason, count in reasons.items())
    if histogram:
        message += f" {', '.join(histogram)}."
    return message
