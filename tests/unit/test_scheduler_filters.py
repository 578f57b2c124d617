"""Each filter, node by node, with kube-scheduler's reasons and order."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.api import codec
from controlplane.api.v1 import core_pb2
from controlplane.scheduler import messages
from controlplane.scheduler.filters import node_ports, port_conflicts, resources_fit, static_verdict
from controlplane.scheduler.nodefacts import NodeFacts
from controlplane.scheduler.podinfo import HostPort, pod_info
from controlplane.scheduler.resources import Allocatable, Resources
from controlplane.scheduler.volumes import VolumeConstraints, volume_constraints, volume_verdict
from tests.support.scheduling import CONTROL_PLANE_TAINT, node, pod

TOLERATE_MASTER = {"tolerations": [{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists",
                                    "effect": "NoSchedule"}]}
TOLERATE_UNSCHEDULABLE = {"tolerations": [{"key": "node.kubernetes.io/unschedulable", "operator": "Exists"}]}
SSD = {"nodeSelector": {"disk": "ssd"}}


@pytest.mark.parametrize(("node_kwargs", "spec", "verdict"), [
    ({}, {}, None),
    ({"taints": [CONTROL_PLANE_TAINT]}, {},
     (messages.TAINT_TOLERATION, "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }")),
    ({"taints": [CONTROL_PLANE_TAINT]}, TOLERATE_MASTER, None),
    ({"taints": [{"key": "dedicated", "value": "db", "effect": "NoExecute"}]}, {},
     (messages.TAINT_TOLERATION, "node(s) had untolerated taint {dedicated: db}")),
    ({"taints": [{"key": "soft", "effect": "PreferNoSchedule"}]}, {}, None),  # a preference, not a filter
    ({"unschedulable": True}, {}, (messages.NODE_UNSCHEDULABLE, messages.UNSCHEDULABLE)),
    ({"unschedulable": True}, TOLERATE_UNSCHEDULABLE, None),
    # NodeUnschedulable runs before TaintToleration, which runs before NodeAffinity.
    ({"unschedulable": True, "taints": [CONTROL_PLANE_TAINT]}, {},
     (messages.NODE_UNSCHEDULABLE, messages.UNSCHEDULABLE)),
    ({"taints": [CONTROL_PLANE_TAINT]}, SSD,
     (messages.TAINT_TOLERATION, "node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }")),
    ({}, SSD, (messages.NODE_AFFINITY, messages.AFFINITY_MISMATCH)),
    ({"labels": {"disk": "ssd"}}, SSD, None),
    # A node that is not ready is refused as the not-ready taint would refuse it, unless tolerated.
    ({"conditions": [{"type": "Ready", "status": "False"}]}, {},
     (messages.TAINT_TOLERATION, "node(s) had untolerated taint {node.kubernetes.io/not-ready: }")),
    ({"conditions": [{"type": "Ready", "status": "Unknown"}]}, {},
     (messages.TAINT_TOLERATION, "node(s) had untolerated taint {node.kubernetes.io/unreachable: }")),
    ({"conditions": [{"type": "Ready", "status": "False"}]},
     {"tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists"}]}, None),
    # Required affinity naming other nodes: NodeAffinity's PreFilter left this node out.
    ({}, {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["other"]}]}]}}}},
     (messages.NODE_AFFINITY, "node(s) didn't satisfy plugin(s) [NodeAffinity]")),
])
def test_node_only_filters_give_the_first_refusing_plugins_reason(
        node_kwargs: dict[str, Any], spec: dict[str, Any], verdict: tuple[str, str] | None) -> None:
    assert static_verdict(pod_info(pod("p", spec=spec)), NodeFacts.of(node("n1", **node_kwargs))) == verdict


ANY_80 = HostPort("0.0.0.0", "TCP", 80)


@pytest.mark.parametrize(("wanted", "used", "conflict"), [
    (ANY_80, [], False),
    (ANY_80, [HostPort("0.0.0.0", "TCP", 80)], True),
    (ANY_80, [HostPort("10.0.0.1", "TCP", 80)], True),  # all addresses includes this one
    (ANY_80, [HostPort("0.0.0.0", "UDP", 80)], False),
    (ANY_80, [HostPort("0.0.0.0", "TCP", 8080)], False),
    (HostPort("10.0.0.1", "TCP", 80), [HostPort("0.0.0.0", "TCP", 80)], True),
    (HostPort("10.0.0.1", "TCP", 80), [HostPort("10.0.0.1", "TCP", 80)], True),
    (HostPort("10.0.0.1", "TCP", 80), [HostPort("10.0.0.2", "TCP", 80)], False),
    (HostPort("0.0.0.0", "TCP", 0), [HostPort("0.0.0.0", "TCP", 0)], False),
])
def test_host_port_conflicts(wanted: HostPort, used: list[HostPort], conflict: bool) -> None:
    assert port_conflicts(wanted, used) is conflict


def test_node_ports_reason_and_how_a_pod_asks_for_ports() -> None:
    info = pod_info(pod("p", containers=[{"name": "a", "image": "nginx", "ports": [
        {"containerPort": 80, "hostPort": 8080}, {"containerPort": 53, "hostPort": 53, "protocol": "UDP",
                                                  "hostIP": "10.0.0.1"}, {"containerPort": 9000}]}]))
    assert info.host_ports == (HostPort("0.0.0.0", "TCP", 8080), HostPort("10.0.0.1", "UDP", 53))
    assert node_ports(info.host_ports, [HostPort("0.0.0.0", "UDP", 53)]) == messages.NO_FREE_PORTS
    assert node_ports(info.host_ports, [HostPort("0.0.0.0", "TCP", 53)]) is None


NODE = Allocatable(Resources(4000, 8 << 30, 0, {"example.com/gpu": 1}), 110)


@pytest.mark.parametrize(("request_", "requested", "count", "reasons"), [
    (Resources(1000, 1 << 30), Resources(), 0, []),
    (Resources(1000, 1 << 30), Resources(3000, 7 << 30), 10, []),  # exactly full is fine
    (Resources(1001, 1 << 30), Resources(3000, 7 << 30), 10, ["Insufficient cpu"]),
    (Resources(5000, 9 << 30), Resources(), 0, ["Insufficient cpu", "Insufficient memory"]),
    (Resources(100), Resources(), 110, ["Too many pods"]),
    (Resources(), Resources(4000, 8 << 30), 109, []),  # asks nothing: only the pod count matters
    (Resources(), Resources(), 110, ["Too many pods"]),
    (Resources(5000), Resources(), 110, ["Too many pods", "Insufficient cpu"]),
    (Resources(0, 0, 1), Resources(), 0, ["Insufficient ephemeral-storage"]),  # the node offers none
    (Resources(0, 0, 0, {"example.com/gpu": 1}), Resources(0, 0, 0, {"example.com/gpu": 1}), 1,
     ["Insufficient example.com/gpu"]),
    (Resources(0, 0, 0, {"example.com/fpga": 0}), Resources(), 0, []),  # zero of something is nothing
])
def test_resources_fit_against_allocatable_minus_requested(request_: Resources, requested: Resources, count: int,
                                                           reasons: list[str]) -> None:
    assert resources_fit(request_, NODE, requested, count) == reasons


def _claim(name: str, volume: str = "", phase: str = "", deleting: bool = False) -> core_pb2.PersistentVolumeClaim:
    metadata: dict[str, Any] = {"name": name, "namespace": "default"}
    if deleting:
        metadata["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    claim = codec.decode_object({"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": metadata,
                                 "spec": {"volumeName": volume}, "status": {"phase": phase}})
    assert isinstance(claim, core_pb2.PersistentVolumeClaim)
    return claim


def _volume(name: str, hostnames: list[str] | None) -> core_pb2.PersistentVolume:
    spec: dict[str, Any] = {"capacity": {"storage": "1Gi"}}
    if hostnames is not None:
        spec["nodeAffinity"] = {"required": {"nodeSelectorTerms": [{"matchExpressions": [
            {"key": "kubernetes.io/hostname", "operator": "In", "values": hostnames}]}]}}
    volume = codec.decode_object({"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name},
                                  "spec": spec})
    assert isinstance(volume, core_pb2.PersistentVolume)
    return volume


CLAIMS = {"local": _claim("local", "pv-local", "Bound"), "anywhere": _claim("anywhere", "pv-any", "Bound"),
          "pending": _claim("pending"), "gone": _claim("gone", "pv-missing", "Bound"),
          "leaving": _claim("leaving", "pv-any", "Bound", deleting=True)}
VOLUMES = {"pv-local": _volume("pv-local", ["n1"]), "pv-any": _volume("pv-any", None)}


@pytest.mark.parametrize(("claims", "prefilter", "on_n1", "on_n2"), [
    ([], "", None, None),
    (["local"], "", None, messages.VOLUME_NODE_CONFLICT),
    (["anywhere", "local"], "", None, messages.VOLUME_NODE_CONFLICT),
    (["anywhere"], "", None, None),
    (["gone"], "", messages.PV_NOT_EXIST, messages.PV_NOT_EXIST),
    (["pending"], messages.UNBOUND_IMMEDIATE_CLAIMS, None, None),
    (["missing"], 'persistentvolumeclaim "missing" not found', None, None),
    (["leaving"], 'persistentvolumeclaim "leaving" is being deleted', None, None),
])
def test_volume_binding_of_bound_claims_checks_the_volumes_node_affinity(
        claims: list[str], prefilter: str, on_n1: str | None, on_n2: str | None) -> None:
    constraints = volume_constraints("default", claims, lambda ns, name: CLAIMS.get(name), VOLUMES.get)
    assert constraints.prefilter == prefilter
    if not prefilter:
        assert volume_verdict(constraints, NodeFacts.of(node("n1"))) == on_n1
        assert volume_verdict(constraints, NodeFacts.of(node("n2"))) == on_n2
    assert volume_constraints("default", [], CLAIMS.get, VOLUMES.get) == VolumeConstraints()
