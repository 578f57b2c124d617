"""The proxy's settings, built from flags and env vars (KUBELAB_PROXY_<FLAG>) in one place."""

from __future__ import annotations

import argparse
import ipaddress
import socket
from dataclasses import dataclass, field

from controlplane.daemon import (
    ConfigError,
    add_log_flags,
    flag_adder,
    interface_name,
    ipv4_address,
    ipv4_network,
    port_number,
    positive,
)
from controlplane.lbpool import AddressPool, PoolError, parse_pool

DAEMON = "PROXY"
MODES = ("userspace", "nftables")


@dataclass(frozen=True, slots=True)
class ProxyConfig:
    # The API server, HOST:PORT.
    server: str = "127.0.0.1:6443"
    node_name: str = field(default_factory=socket.gethostname)
    # This node's address: node ports are served on it, load balancer addresses go on its interface.
    node_ip: str = "127.0.0.1"
    # userspace: an asyncio L4 proxy; nftables: DNAT rules in the kernel (table `ip kubelab`).
    mode: str = "userspace"
    # Load balancer addresses this proxy may announce (ARP); others are served but never claimed.
    lb_pool: AddressPool = field(default_factory=AddressPool)
    # /healthz, /livez and /metrics (kube-proxy's 10256).
    healthz_port: int = 10256
    healthz_address: str = "0.0.0.0"
    # The pod network: traffic from it is "from inside" (no masquerade to a cluster IP, and never
    # subject to externalTrafficPolicy: Local).
    cluster_cidr: ipaddress.IPv4Network = field(default_factory=lambda: ipaddress.IPv4Network("10.244.0.0/16"))
    # The dummy interface carrying the service addresses (userspace mode).
    interface: str = "kl-svc0"
    # Seconds to wait for an endpoint to accept a connection before trying the next (userspace).
    connect_timeout: float = 1.0
    # Seconds a UDP flow lives without traffic (userspace; the kernel's conntrack has its own).
    udp_idle_timeout: float = 30.0
    # This proxy's Lease (`kubelab-proxy-<node>` in kube-system) lasts this long unless renewed;
    # other proxies take over its load balancer addresses when it lapses.
    lease_duration: float = 15.0
    # Seconds an unapplied change may wait before /healthz reports the proxy unhealthy.
    health_timeout: float = 60.0
    log_level: str = "info"
    log_format: str = "auto"

    @property
    def lease_renew_interval(self) -> float:
        return self.lease_duration / 3


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubelab proxy",
                                description="The kubelab service proxy (kube-proxy): ClusterIP, NodePort, "
                                            "LoadBalancer and external IPs over TCP and UDP.")
    d = ProxyConfig(node_name="")
    flag = flag_adder(p, DAEMON)

    flag("--server", d.server, "API server HOST:PORT")
    flag("--node-name", socket.gethostname(), "this node's name")
    flag("--node-ip", d.node_ip, "this node's address (node ports, load balancer addresses)")
    flag("--mode", d.mode, "how services are proxied", choices=list(MODES))
    flag("--lb-pool", "", "load balancer addresses this proxy may announce, e.g. 10.240.0.200-10.240.0.250")
    flag("--healthz-port", d.healthz_port, "port of /healthz, /livez and /metrics (0: none)", type=int)
    flag("--healthz-address", d.healthz_address, "address of /healthz, /livez and /metrics")
    flag("--cluster-cidr", str(d.cluster_cidr), "the pod network")
    flag("--interface", d.interface, "the dummy interface for service addresses (userspace mode)")
    flag("--connect-timeout", d.connect_timeout, "seconds before an endpoint that does not answer is skipped",
         type=float)
    flag("--udp-idle-timeout", d.udp_idle_timeout, "seconds a UDP flow lives without traffic", type=float)
    flag("--lease-duration", d.lease_duration, "seconds this proxy's Lease lasts unless renewed", type=float)
    flag("--health-timeout", d.health_timeout, "seconds a change may wait before /healthz fails", type=float)
    add_log_flags(p, DAEMON)
    return p


def from_args(argv: list[str]) -> ProxyConfig:
    args = parser().parse_args(argv)
    if not args.node_name:
        raise ConfigError("--node-name must not be empty")
    ipv4_address("--node-ip", args.node_ip)
    if args.mode not in MODES:
        raise ConfigError(f"--mode {args.mode!r}: expected userspace or nftables")
    try:
        pool = parse_pool(args.lb_pool)
    except PoolError as error:
        raise ConfigError(f"--lb-pool {error}") from None
    cluster_cidr = ipv4_network("--cluster-cidr", args.cluster_cidr)
    port_number("--healthz-port", args.healthz_port)
    interface_name("--interface", args.interface)
    positive(args, "connect_timeout", "udp_idle_timeout", "lease_duration", "health_timeout")
    return ProxyConfig(
        server=args.server, node_name=args.node_name, node_ip=args.node_ip, mode=args.mode, lb_pool=pool,
        healthz_port=args.healthz_port, healthz_address=args.healthz_address, cluster_cidr=cluster_cidr,
        interface=args.interface, connect_timeout=args.connect_timeout, udp_idle_timeout=args.udp_idle_timeout,
        lease_duration=args.lease_duration, health_timeout=args.health_timeout, log_level=args.log_level,
        log_format=args.log_format)
