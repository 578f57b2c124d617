"""The controller manager's settings, built from flags and env vars (KUBELAB_CONTROLLER_MANAGER_<FLAG>).

Timings are seconds. Each has Kubernetes' default (kube-controller-manager's flag of the same name,
where it has one); the lab and the tests pass shorter ones so that what takes minutes on a real
cluster plays in seconds.
"""

from __future__ import annotations

import argparse
import ipaddress
from dataclasses import dataclass, field

from controlplane.daemon import (
    ConfigError,
    add_log_flags,
    at_least_one,
    flag_adder,
    ipv4_network,
    not_negative,
    positive,
)
from controlplane.lbpool import AddressPool, PoolError, parse_pool

DAEMON = "CONTROLLER_MANAGER"
DEFAULT_CLUSTER_CIDR = ipaddress.IPv4Network("10.244.0.0/16")


@dataclass(frozen=True, slots=True)
class NodeIpamSettings:
    # Pod ranges come from here, one of `node_cidr_mask_size` bits per node (DESIGN.md: 10.244.0.0/16, /24).
    cluster_cidr: ipaddress.IPv4Network = DEFAULT_CLUSTER_CIDR
    node_cidr_mask_size: int = 24


@dataclass(frozen=True, slots=True)
class NodeLifecycleSettings:
    # How often node health is looked at (Kubernetes: 5s).
    node_monitor_period: float = 5.0
    # A node silent this long (Lease and Ready heartbeat) turns Unknown (Kubernetes 1.32: 50s).
    node_monitor_grace_period: float = 50.0
    # The same for a node that never posted a Ready condition, counted from its creation (1m).
    node_startup_grace_period: float = 60.0
    # Nodes per second that get a NoExecute taint in a healthy zone, and in a partly disrupted one.
    node_eviction_rate: float = 0.1
    secondary_node_eviction_rate: float = 0.01
    # Zones of at most this many nodes stop tainting when partly disrupted.
    large_cluster_size_threshold: int = 50
    # The share of not-Ready nodes (at least 3) that makes a zone partly disrupted.
    unhealthy_zone_threshold: float = 0.55
    # HOST:PORT of a node agent whose view of the gossip cluster is the second witness of node
    # health (nodelifecycle/gossipwitness.py): the agent on this machine, 127.0.0.1:10250 on the
    # master. Empty: the Lease alone decides.
    gossip_witness: str = ""


@dataclass(frozen=True, slots=True)
class PodGcSettings:
    # Terminated pods kept before the oldest are deleted (0: never delete them).
    terminated_pod_gc_threshold: int = 12500
    # Kubernetes runs pod GC every 20s and waits 40s before deleting the pods of a vanished node;
    # kubelab makes both flags so that tests can shorten them.
    period: float = 20.0
    orphan_quarantine: float = 40.0


@dataclass(frozen=True, slots=True)
class ControllerManagerConfig:
    # The API server, HOST:PORT.
    server: str = "127.0.0.1:6443"
    # Which controllers run ("*" = all of controllermanager/registry.py).
    controllers: tuple[str, ...] = ("*",)
    # Concurrent reconcilers per controller.
    workers: int = 5
    node_ipam: NodeIpamSettings = field(default_factory=NodeIpamSettings)
    node_lifecycle: NodeLifecycleSettings = field(default_factory=NodeLifecycleSettings)
    pod_gc: PodGcSettings = field(default_factory=PodGcSettings)
    # Every namespace is looked at again this often, even without a change (Kubernetes: 5m).
    namespace_sync_period: float = 300.0
    # Addresses for type: LoadBalancer services (controllers/loadbalancer.py); empty: none are given.
    lb_pool: AddressPool = field(default_factory=AddressPool)
    log_level: str = "info"
    log_format: str = "auto"

    def enabled(self, name: str) -> bool:
        return "*" in self.controllers or name in self.controllers


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubelab controller-manager",
                                description="The kubelab controller manager: the control plane's reconcile loops.")
    d = ControllerManagerConfig()
    ipam, life, podgc = d.node_ipam, d.node_lifecycle, d.pod_gc
    flag = flag_adder(p, DAEMON)

    flag("--server", d.server, "API server HOST:PORT")
    flag("--controllers", ",".join(d.controllers), "controllers to run, comma-separated ('*' = all)")
    flag("--workers", d.workers, "concurrent reconcilers per controller", type=int)
    flag("--cluster-cidr", str(ipam.cluster_cidr), "range the nodes' pod CIDRs are allocated from")
    flag("--node-cidr-mask-size", ipam.node_cidr_mask_size, "prefix length of each node's pod CIDR", type=int)
    flag("--node-monitor-period", life.node_monitor_period, "seconds between looks at node health", type=float)
    flag("--node-monitor-grace-period", life.node_monitor_grace_period,
         "seconds a running node may be silent before it is marked Unknown", type=float)
    flag("--node-startup-grace-period", life.node_startup_grace_period,
         "seconds a new node may go without posting status before it is marked Unknown", type=float)
    flag("--node-eviction-rate", life.node_eviction_rate,
         "nodes per second tainted NoExecute when their zone is healthy", type=float)
    flag("--secondary-node-eviction-rate", life.secondary_node_eviction_rate,
         "nodes per second tainted NoExecute when their zone is unhealthy", type=float)
    flag("--large-cluster-size-threshold", life.large_cluster_size_threshold,
         "zones of at most this many nodes stop tainting when unhealthy", type=int)
    flag("--unhealthy-zone-threshold", life.unhealthy_zone_threshold,
         "share of not-Ready nodes (at least 3) that makes a zone unhealthy", type=float)
    flag("--gossip-witness", life.gossip_witness,
         "HOST:PORT of the node agent whose gossip view confirms node deaths (empty: the Lease alone)")
    flag("--terminated-pod-gc-threshold", podgc.terminated_pod_gc_threshold,
         "terminated pods kept before the oldest are deleted (0: keep all)", type=int)
    flag("--pod-gc-period", podgc.period, "seconds between pod garbage collection passes", type=float)
    flag("--pod-gc-orphan-quarantine", podgc.orphan_quarantine,
         "seconds a pod's node must have been gone before the pod is deleted", type=float)
    flag("--namespace-sync-period", d.namespace_sync_period, "seconds between full looks at every namespace",
         type=float)
    flag("--lb-pool", "", "addresses for LoadBalancer services, e.g. 10.240.0.200-10.240.0.250 (or a CIDR)")
    add_log_flags(p, DAEMON)
    return p


def _node_ipam(args: argparse.Namespace) -> NodeIpamSettings:
    cluster = ipv4_network("--cluster-cidr", args.cluster_cidr)
    if not cluster.prefixlen <= args.node_cidr_mask_size <= 30:
        raise ConfigError(f"--node-cidr-mask-size {args.node_cidr_mask_size}: must be between the cluster CIDR's "
                          f"prefix length ({cluster.prefixlen}) and 30")
    return NodeIpamSettings(cluster_cidr=cluster, node_cidr_mask_size=args.node_cidr_mask_size)


def _witness(address: str) -> str:
    host, sep, port = address.rpartition(":")
    if address and (not sep or not host or not port.isdigit() or not 0 < int(port) < 65536):
        raise ConfigError(f"--gossip-witness {address!r}: expected HOST:PORT, e.g. 127.0.0.1:10250")
    return address


def from_args(argv: list[str]) -> ControllerManagerConfig:
    from controlplane.controllermanager.registry import CONTROLLERS

    args = parser().parse_args(argv)
    names = tuple(filter(None, (part.strip() for part in str(args.controllers).split(","))))
    unknown = [name for name in names if name != "*" and name not in CONTROLLERS]
    if unknown:
        raise ConfigError(f"--controllers: unknown controller {unknown[0]!r} (known: {', '.join(sorted(CONTROLLERS))})")
    at_least_one(args, "workers")
    positive(args, "node_monitor_period", "node_monitor_grace_period", "node_startup_grace_period",
             "pod_gc_period", "namespace_sync_period")
    not_negative(args, "node_eviction_rate", "secondary_node_eviction_rate", "large_cluster_size_threshold",
                 "terminated_pod_gc_threshold", "pod_gc_orphan_quarantine")
    if not 0 < args.unhealthy_zone_threshold <= 1:
        raise ConfigError("--unhealthy-zone-threshold must be more than 0 and at most 1")
    if args.node_monitor_grace_period < args.node_monitor_period:
        raise ConfigError("--node-monitor-grace-period must be at least --node-monitor-period")
    try:
        lb_pool = parse_pool(args.lb_pool)
    except PoolError as error:
        raise ConfigError(f"--lb-pool {error}") from None
    return ControllerManagerConfig(
        server=args.server, controllers=names or ("*",), workers=args.workers, node_ipam=_node_ipam(args),
        node_lifecycle=NodeLifecycleSettings(
            node_monitor_period=args.node_monitor_period, node_monitor_grace_period=args.node_monitor_grace_period,
            node_startup_grace_period=args.node_startup_grace_period, node_eviction_rate=args.node_eviction_rate,
            secondary_node_eviction_rate=args.secondary_node_eviction_rate,
            large_cluster_size_threshold=args.large_cluster_size_threshold,
            unhealthy_zone_threshold=args.unhealthy_zone_threshold, gossip_witness=_witness(args.gossip_witness)),
        pod_gc=PodGcSettings(terminated_pod_gc_threshold=args.terminated_pod_gc_threshold, period=args.pod_gc_period,
                             orphan_quarantine=args.pod_gc_orphan_quarantine),
        namespace_sync_period=args.namespace_sync_period, lb_pool=lb_pool, log_level=args.log_level,
        log_format=args.log_format)
