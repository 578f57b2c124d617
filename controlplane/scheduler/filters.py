"""The filters: can this pod run on this node? Pure functions of the pod and the node's facts and
aggregates, each answering with kube-scheduler's reason(s) when it cannot, in kube-scheduler's
order: NodeUnschedulable, TaintToleration, NodeAffinity (these read only the node: `static_verdict`),
then NodePorts, NodeResourcesFit and VolumeBinding (these read what is already on the node). A node
gets the reasons of the first filter that refuses it, as kube-scheduler stops at the first.

The scheduler's search (algorithm.py) runs the same rules over many nodes at once; these are the
rules, and what its diagnosis of a pod that fits nowhere is built from.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable

from controlplane.api.taints import NO_SCHEDULE, UNSCHEDULABLE, Taint
from controlplane.scheduler import messages
from controlplane.scheduler.nodeaffinity import required_affinity_matches
from controlplane.scheduler.nodefacts import NodeFacts
from controlplane.scheduler.podinfo import ALL_ADDRESSES, HostPort, PodInfo
from controlplane.scheduler.resources import Allocatable, Resources
from controlplane.scheduler.taints import first_untolerated, tolerated

_UNSCHEDULABLE_TAINT = Taint(UNSCHEDULABLE, "", NO_SCHEDULE)


def node_unschedulable(pod: PodInfo, node: NodeFacts) -> str | None:
    if node.unschedulable and not tolerated(pod.tolerations, _UNSCHEDULABLE_TAINT):
        return messages.UNSCHEDULABLE
    return None


def taint_toleration(pod: PodInfo, node: NodeFacts) -> str | None:
    taint = first_untolerated(node.taints, pod.tolerations)
    return None if taint is None else messages.untolerated_taint(taint.key, taint.value)


def node_affinity(pod: PodInfo, node: NodeFacts) -> str | None:
    return None if required_affinity_matches(pod.spec, node.labels, node.name) else messages.AFFINITY_MISMATCH


STATIC_FILTERS = ((messages.NODE_UNSCHEDULABLE, node_unschedulable),
                  (messages.TAINT_TOLERATION, taint_toleration),
                  (messages.NODE_AFFINITY, node_affinity))


def static_verdict(pod: PodInfo, node: NodeFacts) -> tuple[str, str] | None:
    """(plugin, reason) of the first node-only filter that refuses the node, or None.

    A node that NodeAffinity's PreFilter left out (the pod's required affinity names other nodes)
    is not filtered at all: kube-scheduler reports it as not satisfying that plugin."""
    if pod.required_names is not None and node.name not in pod.required_names:
        return messages.NODE_AFFINITY, messages.absent_from_prefilter([messages.NODE_AFFINITY])
    for plugin, check in STATIC_FILTERS:
        reason = check(pod, node)
        if reason is not None:
            return plugin, reason
    return None


def port_conflicts(wanted: HostPort, used: Collection[HostPort]) -> bool:
    """Kubernetes' HostPortInfo.CheckConflict: 0.0.0.0 conflicts with the same protocol and port on
    any address; an address conflicts with itself and with 0.0.0.0."""
    if wanted.port <= 0:
        return False
    if wanted.ip == ALL_ADDRESSES:
        return any(u.protocol == wanted.protocol and u.port == wanted.port for u in used)
    return (wanted in used) or HostPort(ALL_ADDRESSES, wanted.protocol, wanted.port) in used


def node_ports(wanted: Iterable[HostPort], used: Collection[HostPort]) -> str | None:
    if any(port_conflicts(port, used) for port in wanted):
        return messages.NO_FREE_PORTS
    return None


def resources_fit(request: Resources, allocatable: Allocatable, requested: Resources, pod_count: int) -> list[str]:
    """NodeResourcesFit: the room left for one more pod, and for each resource the pod asks for."""
    reasons = []
    if pod_count + 1 > allocatable.pods:
        reasons.append(messages.TOO_MANY_PODS)
    if request.is_zero:
        return reasons
    free = allocatable.resources
    if request.cpu > 0 and request.cpu > free.cpu - requested.cpu:
        reasons.append(messages.insufficient("cpu"))
    if request.memory > 0 and request.memory > free.memory - requested.memory:
        reasons.append(messages.insufficient("memory"))
    if request.ephemeral_storage > 0 and request.ephemeral_storage > free.ephemeral_storage - \
            requested.ephemeral_storage:
        reasons.append(messages.insufficient("ephemeral-storage"))
    for name, count in sorted(request.scalars.items()):
        if count > 0 and count > free.scalars.get(name, 0) - requested.scalars.get(name, 0):
            reasons.append(messages.insufficient(name))
    return reasons
