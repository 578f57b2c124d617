"""The node agent's settings, built from flags and env vars (KUBELAB_AGENT_<FLAG>) in one place."""

from __future__ import annotations

import argparse
import ipaddress
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

from agent.gossip.flags import GossipSettings, add_gossip_flags, gossip_settings
from controlplane.api.quantity import QuantityError, parse_quantity
from controlplane.api.taints import Taint
from controlplane.daemon import (
    ConfigError,
    add_log_flags,
    flag_adder,
    interface_name,
    ipv4_address,
    ipv4_network,
    key_values,
    positive,
)

DAEMON = "AGENT"


@dataclass(frozen=True, slots=True)
class AgentConfig:
    # The API server, HOST:PORT.
    server: str = "127.0.0.1:6443"
    node_name: str = field(default_factory=socket.gethostname)
    # The address other nodes and the API server reach this node at.
    node_ip: str = "127.0.0.1"
    # This node's pod range; empty = wait for the control plane to assign spec.podCIDR.
    pod_cidr: ipaddress.IPv4Network | None = None
    # Where the agent keeps pod volumes, network records and container state.
    state_dir: Path = Path("/var/lib/kubelab/agent")
    # Pod network namespaces are named "<prefix>-<pod uid>".
    netns_prefix: str = "kl-node"
    bridge: str = "kl-cbr0"
    # Container cgroups live under this group of each controller.
    cgroup_parent: str = "kubelab"
    # gRPC for logs, exec and port-forward.
    listen: str = "0.0.0.0:10250"
    labels: tuple[tuple[str, str], ...] = ()
    taints: tuple[Taint, ...] = ()
    cluster_dns: str = "10.96.0.10"
    cluster_domain: str = "cluster.local"
    # Capacity: 0 = read it from the machine.
    cpu_millicores: int = 0
    memory_bytes: int = 0
    max_pods: int = 110
    # The Lease is renewed this often; Node status is re-posted at most this often when unchanged.
    heartbeat_interval: float = 10.0
    node_status_interval: float = 60.0
    # CrashLoopBackOff: first delay, cap, and how long a container must run for the delay to reset.
    backoff_initial: float = 10.0
    backoff_max: float = 300.0
    backoff_reset: float = 600.0
    # Pods are re-synced from the API server this often even without events (level-triggered).
    resync_interval: float = 60.0
    # The gossip cluster (agent/gossip): join addresses, port, keys and timings.
    gossip: GossipSettings = field(default_factory=GossipSettings)
    log_level: str = "info"
    log_format: str = "auto"

    @property
    def node_labels(self) -> dict[str, str]:
        return {"kubernetes.io/hostname": self.node_name, "kubernetes.io/os": "linux",
                "kubernetes.io/arch": os.uname().machine.replace("x86_64", "amd64").replace("aarch64", "arm64"),
                **dict(self.labels)}


def _taints(text: str) -> tuple[Taint, ...]:
    taints = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key_value, sep, effect = item.rpartition(":")
        key, _, value = key_value.partition("=")
        if not sep or not key or effect not in ("NoSchedule", "PreferNoSchedule", "NoExecute"):
            raise ConfigError(f"--register-with-taints {item!r}: expected KEY[=VALUE]:NoSchedule|PreferNoSchedule"
                              "|NoExecute")
        taints.append(Taint(key, value, effect))
    return tuple(taints)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubelab agent", description="The kubelab node agent (the kubelet).")
    d = AgentConfig(node_name="")
    flag = flag_adder(p, DAEMON)

    flag("--server", d.server, "API server HOST:PORT")
    flag("--node-name", socket.gethostname(), "this node's name")
    flag("--node-ip", d.node_ip, "this node's address")
    flag("--pod-cidr", "", "this node's pod range (empty: wait for spec.podCIDR)")
    flag("--state-dir", str(d.state_dir), "directory for pod volumes, network and container state")
    flag("--netns-prefix", d.netns_prefix, "prefix of pod network namespace names")
    flag("--bridge", d.bridge, "name of the pods' bridge (<= 15 characters)")
    flag("--cgroup-parent", d.cgroup_parent, "cgroup under which containers are placed")
    flag("--listen", d.listen, "HOST:PORT for logs, exec and port-forward")
    flag("--node-labels", "", "extra labels, KEY=VALUE,...")
    flag("--register-with-taints", "", "taints, KEY=VALUE:EFFECT,...")
    flag("--cluster-dns", d.cluster_dns, "cluster DNS address written to pods' resolv.conf")
    flag("--cluster-domain", d.cluster_domain, "cluster domain")
    flag("--cpu", "", "CPU capacity to report (e.g. 2 or 1500m; empty: the machine's)")
    flag("--memory", "", "memory capacity to report (e.g. 4Gi; empty: the machine's)")
    flag("--max-pods", d.max_pods, "pods this node accepts", type=int)
    flag("--heartbeat-interval", d.heartbeat_interval, "seconds between Lease renewals", type=float)
    flag("--node-status-interval", d.node_status_interval, "seconds between Node status posts", type=float)
    flag("--backoff-initial", d.backoff_initial, "first CrashLoopBackOff delay, seconds", type=float)
    flag("--backoff-max", d.backoff_max, "longest CrashLoopBackOff delay, seconds", type=float)
    flag("--backoff-reset", d.backoff_reset, "seconds of running that reset the back-off", type=float)
    flag("--resync-interval", d.resync_interval, "seconds between full pod resyncs", type=float)
    add_gossip_flags(p, DAEMON)
    add_log_flags(p, DAEMON)
    return p


def from_args(argv: list[str]) -> AgentConfig:
    args = parser().parse_args(argv)
    ipv4_address("--node-ip", args.node_ip)
    pod_cidr = ipv4_network("--pod-cidr", args.pod_cidr) if args.pod_cidr else None
    interface_name("--bridge", args.bridge)
    cpu = memory = 0
    try:
        if args.cpu:
            cpu = int(parse_quantity(args.cpu) * 1000)
        if args.memory:
            memory = int(parse_quantity(args.memory))
    except QuantityError as error:
        raise ConfigError(f"--cpu/--memory: {error}") from None
    positive(args, "heartbeat_interval", "node_status_interval", "backoff_initial", "backoff_max", "backoff_reset",
             "resync_interval")
    if not args.node_name:
        raise ConfigError("--node-name must not be empty")
    return AgentConfig(
        server=args.server, node_name=args.node_name, node_ip=args.node_ip, pod_cidr=pod_cidr,
        state_dir=Path(args.state_dir), netns_prefix=args.netns_prefix, bridge=args.bridge,
        cgroup_parent=args.cgroup_parent, listen=args.listen, labels=key_values("--node-labels", args.node_labels),
        taints=_taints(args.register_with_taints), cluster_dns=args.cluster_dns, cluster_domain=args.cluster_domain,
        cpu_millicores=cpu, memory_bytes=memory, max_pods=args.max_pods, heartbeat_interval=args.heartbeat_interval,
        node_status_interval=args.node_status_interval, backoff_initial=args.backoff_initial,
        backoff_max=args.backoff_max, backoff_reset=args.backoff_reset, resync_interval=args.resync_interval,
        gossip=gossip_settings(args), log_level=args.log_level, log_format=args.log_format)
