"""A hollow node as the API sees it: the Node a kubelet would register (labels, podCIDR, capacity,
Ready conditions, addresses, versions) and its Lease. Pure: time comes in as text."""

from __future__ import annotations

import ipaddress

from agent.node import LEASE_NAMESPACE, ready_conditions
from controlplane import __version__
from controlplane.api.v1 import coordination_pb2, core_pb2
from controlplane.hollow.config import HollowConfig

HOLLOW_LABEL = "kubelab.io/hollow"
KUBELET_PORT = 10250


def node_ip(config: HollowConfig, index: int) -> str:
    return str(config.node_ip_range[index + 1])


def pod_cidr(config: HollowConfig, index: int) -> ipaddress.IPv4Network:
    base = int(config.pod_cidr_range.network_address) + (index << 8)
    return ipaddress.IPv4Network((base, 24))


def node_status(config: HollowConfig, index: int, now: str,
                previous: core_pb2.NodeStatus | None = None) -> core_pb2.NodeStatus:
    status = core_pb2.NodeStatus()
    for name, value in (("cpu", config.cpu), ("memory", config.memory), ("pods", str(config.max_pods))):
        status.capacity[name].string = value
        status.allocatable[name].string = value
    before = {c.type: c for c in previous.conditions} if previous is not None else {}
    for condition in ready_conditions(now):
        old = before.get(condition.type)
        if old is not None and old.status == condition.status and old.last_transition_time:
            condition.last_transition_time = old.last_transition_time
        status.conditions.append(condition)
    status.addresses.add(type="InternalIP", address=node_ip(config, index))
    status.addresses.add(type="Hostname", address=config.node_name(index))
    status.daemon_endpoints.kubelet_endpoint.port = KUBELET_PORT
    info = status.node_info
    info.kubelet_version = info.kube_proxy_version = f"v{__version__}-hollow"
    info.container_runtime_version = f"hollow://{__version__}"
    info.operating_system = "linux"
    info.architecture = "amd64"
    info.os_image = "hollow"
    return status


def hollow_node(config: HollowConfig, index: int, now: str) -> core_pb2.Node:
    name = config.node_name(index)
    node = core_pb2.Node(api_version="v1", kind="Node")
    node.metadata.name = name
    node.metadata.labels.update({"kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                                 "kubernetes.io/arch": "amd64", HOLLOW_LABEL: "true", **dict(config.labels)})
    cidr = str(pod_cidr(config, index))
    node.spec.pod_cidr = cidr
    node.spec.pod_cidrs.append(cidr)
    node.status.CopyFrom(node_status(config, index, now))
    return node


def node_lease(config: HollowConfig, node: core_pb2.Node, now: str) -> coordination_pb2.Lease:
    name = node.metadata.name
    lease = coordination_pb2.Lease(api_version="coordination.k8s.io/v1", kind="Lease")
    lease.metadata.name = name
    lease.metadata.namespace = LEASE_NAMESPACE
    lease.metadata.owner_references.add(api_version="v1", kind="Node", name=name, uid=node.metadata.uid)
    lease.spec.holder_identity = name
    lease.spec.lease_duration_seconds = config.lease_duration
    lease.spec.renew_time = now
    return lease
