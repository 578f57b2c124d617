"""Which daemons run on which node, with which flags: a table, so later daemons are one row each.

Stages: every daemon of a stage starts, then the lab waits for what that stage makes ready before
the next one starts (the API server answering, then every Node being Ready).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import IntEnum
from pathlib import Path

from controlplane.lab.plan import API_PORT, CONTROL_PLANE_LABEL, CONTROL_PLANE_TAINT, MASTER, WORKER, LabPlan, NodePlan

ALL_ROLES = frozenset({MASTER, WORKER})
MASTER_ONLY = frozenset({MASTER})


class Stage(IntEnum):
    API = 0  # started first; the lab then waits until the API server answers
    NODES = 1  # need the API; the lab then waits until every Node is Ready (if the agent runs)


@dataclass(frozen=True, slots=True)
class DaemonSpec:
    name: str  # the `kubelab` subcommand
    roles: frozenset[str]  # the roles of the nodes it runs on
    stage: Stage
    args: Callable[[LabPlan, NodePlan, Path], tuple[str, ...]]  # (plan, node, node's state dir) -> flags


def node_dir(state_dir: Path, node: NodePlan) -> Path:
    return state_dir / node.name


def log_path(state_dir: Path, node: NodePlan, daemon: str) -> Path:
    return node_dir(state_dir, node) / f"{daemon}.log"


# The lab's timings of node failure, shorter than Kubernetes' defaults so that a stopped worker's
# pods move within seconds (story S1.6): agents renew their Lease every second, a node silent for
# 6 s turns NotReady, and pods tolerate a not-ready or unreachable node for 10 s (Kubernetes: 10 s,
# 50 s and 300 s). The grace period stays several heartbeats long so that a busy machine does not
# fake a death.
LAB_HEARTBEAT_INTERVAL = 1
LAB_NODE_MONITOR_PERIOD = 1
LAB_NODE_MONITOR_GRACE_PERIOD = 6
LAB_NODE_STARTUP_GRACE_PERIOD = 20
LAB_TOLERATION_SECONDS = 10
AGENT_PORT = 10250  # the agents' gRPC port (their default --listen)


def lb_pool(plan: LabPlan) -> str:
    """Load balancer addresses from the lab's own subnet, so the host reaches them: .200-.250 of a
    /24 (the same share of a larger subnet); none when the subnet is too small to spare them."""
    size = plan.subnet.num_addresses
    first, last = size * 200 // 256, size * 250 // 256
    if first <= int(plan.nodes[-1].ip) - int(plan.subnet.network_address) or last >= size - 1:
        return ""
    return f"{plan.subnet.network_address + first}-{plan.subnet.network_address + last}"


def _apiserver(plan: LabPlan, node: NodePlan, directory: Path) -> tuple[str, ...]:
    return ("--listen", f"{node.ip}:{API_PORT}", "--data-dir", str(directory / "apiserver"),
            "--advertise-address", str(node.ip),
            "--default-not-ready-toleration-seconds", str(LAB_TOLERATION_SECONDS),
            "--default-unreachable-toleration-seconds", str(LAB_TOLERATION_SECONDS))


def _controller_manager(plan: LabPlan, node: NodePlan, directory: Path) -> tuple[str, ...]:
    return ("--server", plan.api_address, "--node-monitor-period", str(LAB_NODE_MONITOR_PERIOD),
            "--node-monitor-grace-period", str(LAB_NODE_MONITOR_GRACE_PERIOD),
            "--node-startup-grace-period", str(LAB_NODE_STARTUP_GRACE_PERIOD),
            # the gossip cluster's verdicts, from the master's agent (its gRPC port, on this node)
            "--gossip-witness", f"127.0.0.1:{AGENT_PORT}", "--lb-pool", lb_pool(plan))


def gossip_keyring_path(state_dir: Path, node: NodePlan) -> Path:
    """A node's copy of the lab's gossip keyring (one key, made by `kubelab up`), as each machine
    of a real cluster has its own."""
    return node_dir(state_dir, node) / "gossip.keyring"


def _agent(plan: LabPlan, node: NodePlan, directory: Path) -> tuple[str, ...]:
    args: tuple[str, ...] = ("--server", plan.api_address, "--node-name", node.name, "--node-ip", str(node.ip),
            "--pod-cidr", str(node.pod_cidr), "--state-dir", str(directory / "agent"),
            "--netns-prefix", node.netns, "--bridge", node.pod_bridge, "--cgroup-parent", node.cgroup_parent,
            "--heartbeat-interval", str(LAB_HEARTBEAT_INTERVAL))
    # Workers join the gossip cluster through the master; every agent knows the others too, so
    # whichever restarts finds the cluster at once.
    others = [node_plan.ip for node_plan in plan.nodes if node_plan.name != node.name]
    args += ("--join", ",".join(str(ip) for ip in sorted(others, key=lambda ip: ip != plan.master.ip)),
             "--gossip-keyring-file", str(directory / "gossip.keyring"))
    if node.is_master:
        args += ("--register-with-taints", CONTROL_PLANE_TAINT, "--node-labels", CONTROL_PLANE_LABEL)
    return args


def _proxy(plan: LabPlan, node: NodePlan, directory: Path) -> tuple[str, ...]:
    # The mode comes from `kubelab up --proxy-mode` (passed as KUBELAB_PROXY_MODE, see up.py).
    return ("--server", plan.api_address, "--node-name", node.name, "--node-ip", str(node.ip),
            "--lb-pool", lb_pool(plan), "--interface", f"{plan.prefix}-svc0")


def _scheduler(plan: LabPlan, node: NodePlan, directory: Path) -> tuple[str, ...]:
    return ("--server", plan.api_address)


def _dns(plan: LabPlan, node: NodePlan, directory: Path) -> tuple[str, ...]:
    # On the node's own address (the proxy answers the cluster DNS address, 10.96.0.10), and with no
    # upstream resolver: the lab's nodes reach nothing outside the machine, and must not try.
    return ("--server", plan.api_address, "--node-name", node.name, "--node-ip", str(node.ip), "--resolv-conf", "")


DAEMONS: tuple[DaemonSpec, ...] = (
    DaemonSpec("apiserver", MASTER_ONLY, Stage.API, _apiserver),
    DaemonSpec("controller-manager", MASTER_ONLY, Stage.NODES, _controller_manager),
    DaemonSpec("agent", ALL_ROLES, Stage.NODES, _agent),
    DaemonSpec("scheduler", MASTER_ONLY, Stage.NODES, _scheduler),
    DaemonSpec("dns", ALL_ROLES, Stage.NODES, _dns),
    DaemonSpec("proxy", ALL_ROLES, Stage.NODES, _proxy),
)
DAEMON_NAMES = tuple(spec.name for spec in DAEMONS)
NODE_AGENT = "agent"  # the daemon that makes Nodes Ready


@dataclass(frozen=True, slots=True)
class Launch:
    node: NodePlan
    daemon: str
    stage: Stage
    args: tuple[str, ...]  # after `kubelab DAEMON`
    log: Path


def launches(plan: LabPlan, state_dir: Path, selected: Iterable[str] = DAEMON_NAMES,
             table: tuple[DaemonSpec, ...] = DAEMONS) -> list[Launch]:
    """Every daemon to start, in order: by stage, then table order, then node order."""
    chosen = set(selected)
    result = [Launch(node, spec.name, spec.stage, spec.args(plan, node, node_dir(state_dir, node)),
                     log_path(state_dir, node, spec.name))
              for spec in table if spec.name in chosen
              for node in plan.nodes if node.role in spec.roles]
    return sorted(result, key=lambda launch: launch.stage)  # stable: table and node order stay
