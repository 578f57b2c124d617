"""The hollow nodes' settings, built from flags and env vars (KUBELAB_HOLLOW_NODES_<FLAG>)."""

from __future__ import annotations

import argparse
import ipaddress
from dataclasses import dataclass

from controlplane.api.quantity import QuantityError, parse_quantity
from controlplane.daemon import (
    ConfigError,
    add_log_flags,
    at_least_one,
    flag_adder,
    flag_of,
    ipv4_network,
    key_values,
    positive,
)

DAEMON = "HOLLOW_NODES"
NODE_IP_RANGE = ipaddress.IPv4Network("127.128.0.0/9")
POD_CIDR_RANGE = ipaddress.IPv4Network("10.128.0.0/9")


@dataclass(frozen=True, slots=True)
class HollowConfig:
    # The API server, HOST:PORT.
    server: str = "127.0.0.1:6443"
    # How many nodes, named <prefix>0, <prefix>1, ...
    count: int = 10
    name_prefix: str = "hollow-"
    # What each node offers.
    cpu: str = "8"
    memory: str = "32Gi"
    max_pods: int = 110
    labels: tuple[tuple[str, str], ...] = ()
    # Node i's InternalIP is the (i+1)th address of this range: loopback by default, so nothing that
    # tries to reach a hollow node (logs, exec) leaves the machine.
    node_ip_range: ipaddress.IPv4Network = NODE_IP_RANGE
    # Node i's pods get addresses from the i-th /24 of this range (its spec.podCIDR).
    pod_cidr_range: ipaddress.IPv4Network = POD_CIDR_RANGE
    # The kubelet's Lease timings: 40 s, renewed every 10 s (a quarter), spread evenly over nodes.
    lease_duration: int = 40
    lease_renew_interval: float = 10.0
    # How often each node's status (Ready, heartbeat time) is posted again (the kubelet's 5 min).
    node_status_interval: float = 300.0
    # Writes to the API server in flight at once (registrations, leases, pod status, deletions).
    parallel_writes: int = 32
    log_level: str = "info"
    log_format: str = "auto"

    def node_name(self, index: int) -> str:
        return f"{self.name_prefix}{index}"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubelab hollow-nodes",
                                description="Simulated nodes (like KWOK): Ready nodes whose pods run without "
                                            "running anything, for scale tests of the control plane.")
    d = HollowConfig()
    flag = flag_adder(p, DAEMON)

    flag("--server", d.server, "API server HOST:PORT")
    flag("--count", d.count, "how many nodes", type=int)
    flag("--name-prefix", d.name_prefix, "node names are PREFIX0, PREFIX1, ...")
    flag("--cpu", d.cpu, "cpu each node offers")
    flag("--memory", d.memory, "memory each node offers")
    flag("--max-pods", d.max_pods, "pods each node accepts", type=int)
    flag("--node-labels", "", "extra labels of every node, KEY=VALUE,...")
    flag("--node-ip-range", str(d.node_ip_range), "range of the nodes' InternalIPs")
    flag("--pod-cidr-range", str(d.pod_cidr_range), "range split in /24s, one per node, for pod IPs")
    flag("--lease-duration", d.lease_duration, "seconds a node Lease is valid", type=int)
    flag("--lease-renew-interval", d.lease_renew_interval, "seconds between renewals of each Lease", type=float)
    flag("--node-status-interval", d.node_status_interval, "seconds between status posts of each node", type=float)
    flag("--parallel-writes", d.parallel_writes, "writes to the API server in flight at once", type=int)
    add_log_flags(p, DAEMON)
    return p


def from_args(argv: list[str]) -> HollowConfig:
    args = parser().parse_args(argv)
    at_least_one(args, "count")
    for name in ("cpu", "memory"):
        try:
            parse_quantity(getattr(args, name))
        except QuantityError as error:
            raise ConfigError(f"--{name} {getattr(args, name)!r}: {error}") from None
    if args.max_pods < 1 or args.max_pods > 253:
        raise ConfigError("--max-pods must be between 1 and 253 (one /24 of pod addresses per node)")
    ranges = {name: ipv4_network(flag_of(name), getattr(args, name)) for name in ("node_ip_range", "pod_cidr_range")}
    if ranges["node_ip_range"].num_addresses < args.count + 2:
        raise ConfigError(f"--node-ip-range {args.node_ip_range}: too small for {args.count} nodes")
    if ranges["pod_cidr_range"].prefixlen > 24 or 2 ** (24 - ranges["pod_cidr_range"].prefixlen) < args.count:
        raise ConfigError(f"--pod-cidr-range {args.pod_cidr_range}: fewer than {args.count} /24s")
    positive(args, "lease_duration", "lease_renew_interval", "node_status_interval")
    if args.lease_renew_interval >= args.lease_duration:
        raise ConfigError("--lease-renew-interval must be shorter than --lease-duration")
    at_least_one(args, "parallel_writes")
    return HollowConfig(
        server=args.server, count=args.count, name_prefix=args.name_prefix, cpu=args.cpu, memory=args.memory,
        max_pods=args.max_pods, labels=key_values("--node-labels", args.node_labels),
        node_ip_range=ranges["node_ip_range"],
        pod_cidr_range=ranges["pod_cidr_range"], lease_duration=args.lease_duration,
        lease_renew_interval=args.lease_renew_interval, node_status_interval=args.node_status_interval,
        parallel_writes=args.parallel_writes, log_level=args.log_level, log_format=args.log_format)
