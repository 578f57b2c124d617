"""The lab's address plan and names: pure, computed from the prefix, the subnet and the worker count.

    host (root netns, on <P>-br0)   subnet .1
    master (netns <P>-master)       subnet .10    pods 10.244.0.0/24    veth <P>-m  <-> eth0
    worker i (netns <P>-worker<i>)  subnet .10+i  pods 10.244.i.0/24    veth <P>-w<i> <-> eth0

Interface names stay within the kernel's 15 characters for any valid prefix (at most 9 characters)
and up to MAX_WORKERS workers.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from pathlib import Path

DEFAULT_PREFIX = "kl"
DEFAULT_SUBNET = ipaddress.IPv4Network("10.240.0.0/24")
DEFAULT_WORKERS = 2
STATE_ROOT = Path("/var/lib/kubelab")
DEFAULT_STATE_DIR = STATE_ROOT / DEFAULT_PREFIX
POD_NETWORK = ipaddress.IPv4Network("10.244.0.0/16")
SERVICE_NETWORK = ipaddress.IPv4Network("10.96.0.0/12")
API_PORT = 6443
MAX_WORKERS = 99
IFNAMSIZ = 15  # the kernel's limit on an interface name (16 bytes with the NUL)
PREFIX_MAX = 9
# A letter, then letters or digits: no dash, so `<P>-` never starts another prefix's names.
_PREFIX = re.compile(rf"[a-z][a-z0-9]{{0,{PREFIX_MAX - 1}}}")
HOST_OFFSET = 1
MASTER_OFFSET = 10
MASTER = "master"
WORKER = "worker"
CONTROL_PLANE_TAINT = "node-role.kubernetes.io/control-plane=:NoSchedule"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane="


class PlanError(ValueError):
    """A prefix, subnet or worker count the lab cannot be built from (one line, names the flag)."""


@dataclass(frozen=True, slots=True)
class NodePlan:
    name: str  # "master", "worker1", ...; also the Node object's name
    role: str  # MASTER or WORKER
    index: int  # 0 for the master, i for worker i
    ip: ipaddress.IPv4Address
    pod_cidr: ipaddress.IPv4Network
    netns: str  # "<P>-<name>"; pod namespaces made by the agent are "<P>-<name>-<uid>"
    host_veth: str  # the root-netns end of the node's veth, on the lab bridge; the node's end is eth0
    pod_bridge: str  # the bridge the agent puts pods on, inside the node's netns
    cgroup_parent: str  # "kubelab-<P>-<name>", under every cgroup hierarchy

    @property
    def is_master(self) -> bool:
        return self.role == MASTER


@dataclass(frozen=True, slots=True)
class LabPlan:
    prefix: str
    subnet: ipaddress.IPv4Network
    host_ip: ipaddress.IPv4Address
    bridge: str  # "<P>-br0" in the root netns
    nodes: tuple[NodePlan, ...]  # master first, then worker1..N

    @property
    def master(self) -> NodePlan:
        return self.nodes[0]

    @property
    def workers(self) -> tuple[NodePlan, ...]:
        return self.nodes[1:]

    @property
    def api_address(self) -> str:
        return f"{self.master.ip}:{API_PORT}"

    def node(self, name: str) -> NodePlan:
        for node in self.nodes:
            if node.name == name:
                return node
        raise KeyError(f"lab {self.prefix} has no node {name!r}")

    def pod_routes(self, node: NodePlan) -> tuple[tuple[ipaddress.IPv4Network, ipaddress.IPv4Address], ...]:
        """(pod CIDR, via node IP) for every other node: how `node` reaches the other nodes' pods."""
        return tuple((other.pod_cidr, other.ip) for other in self.nodes if other.name != node.name)


def check_prefix(prefix: str) -> str:
    if not _PREFIX.fullmatch(prefix):
        raise PlanError(f"--prefix {prefix!r}: expected 1-{PREFIX_MAX} lowercase letters or digits, starting "
                        "with a letter (no dash), e.g. kl")
    return prefix


def default_state_dir(prefix: str) -> Path:
    return STATE_ROOT / prefix


def node_name(index: int) -> str:
    return MASTER if index == 0 else f"{WORKER}{index}"


def host_veth_name(prefix: str, index: int) -> str:
    """`<P>-m` for the master, `<P>-w<i>` for worker i."""
    return f"{prefix}-m" if index == 0 else f"{prefix}-w{index}"


def bridge_name(prefix: str) -> str:
    return f"{prefix}-br0"


def pod_bridge_name(prefix: str) -> str:
    return f"{prefix}-cbr0"[:IFNAMSIZ]


def plan_lab(prefix: str = DEFAULT_PREFIX, subnet: ipaddress.IPv4Network = DEFAULT_SUBNET,
             workers: int = DEFAULT_WORKERS) -> LabPlan:
    check_prefix(prefix)
    if not 0 <= workers <= MAX_WORKERS:
        raise PlanError(f"--workers {workers}: expected 0 to {MAX_WORKERS}")
    last_offset = MASTER_OFFSET + workers
    if last_offset >= subnet.num_addresses - 1:
        raise PlanError(f"--subnet {subnet}: too small for a master and {workers} workers (node addresses run "
                        f"from .{MASTER_OFFSET} to .{last_offset}); use a /24")
    for name, network in (("the pod network", POD_NETWORK), ("the service network", SERVICE_NETWORK)):
        if subnet.overlaps(network):
            raise PlanError(f"--subnet {subnet}: overlaps {name} {network}; choose another, e.g. {DEFAULT_SUBNET}")
    pod_cidrs = list(POD_NETWORK.subnets(new_prefix=24))
    nodes = tuple(
        NodePlan(
            name=node_name(index),
            role=MASTER if index == 0 else WORKER,
            index=index,
            ip=subnet.network_address + MASTER_OFFSET + index,
            pod_cidr=pod_cidrs[index],
            netns=f"{prefix}-{node_name(index)}",
            host_veth=host_veth_name(prefix, index),
            pod_bridge=pod_bridge_name(prefix),
            cgroup_parent=f"kubelab-{prefix}-{node_name(index)}",
        )
        for index in range(workers + 1)
    )
    return LabPlan(prefix=prefix, subnet=subnet, host_ip=subnet.network_address + HOST_OFFSET,
                   bridge=bridge_name(prefix), nodes=nodes)


def parse_subnet(text: str) -> ipaddress.IPv4Network:
    try:
        return ipaddress.IPv4Network(text)
    except ValueError as error:
        raise PlanError(f"--subnet {text!r}: {error}") from None
