"""The DNS server's settings, built from flags and env vars (KUBELAB_DNS_<FLAG>) in one place."""

from __future__ import annotations

import argparse
import socket
from dataclasses import dataclass, field
from pathlib import Path

from controlplane.api import names
from controlplane.daemon import ConfigError, add_log_flags, flag_adder, ip_address, port_number, positive
from controlplane.dns.upstream import Upstream, parse_upstream

DAEMON = "DNS"


@dataclass(frozen=True, slots=True)
class DnsConfig:
    # The API server, HOST:PORT.
    server: str = "127.0.0.1:6443"
    node_name: str = field(default_factory=socket.gethostname)
    # The address the DNS serves on (UDP and TCP), and registers as an endpoint of kube-dns: the
    # node's own, so that it never takes the cluster DNS address the service proxy answers on.
    node_ip: str = "127.0.0.1"
    port: int = 53  # 0: any port free for both UDP and TCP (tests)
    cluster_domain: str = "cluster.local"
    # Seconds resolvers may keep an answer (and an absence: the SOA's minimum). kubeadm's CoreDNS: 30.
    ttl: int = 30
    # Upstream resolvers for names outside the cluster domain: the `nameserver` lines of this file,
    # unless `upstreams` names them. None (--resolv-conf "") and no upstreams: such names get SERVFAIL.
    resolv_conf: Path | None = Path("/etc/resolv.conf")
    upstreams: tuple[Upstream, ...] = ()
    # Seconds one upstream has to answer before the next is tried.
    upstream_timeout: float = 2.0
    # The Service this instance serves, NAMESPACE/NAME; "" = do not register as its endpoint.
    register_service: str = "kube-system/kube-dns"
    # Seconds between checks that the registration is still there.
    register_interval: float = 30.0
    log_level: str = "info"
    log_format: str = "auto"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kubelab dns", description="The kubelab cluster DNS: names of Services "
                                "and pods, from watch caches; other names forwarded upstream.")
    d = DnsConfig(node_name="")
    flag = flag_adder(p, DAEMON)

    flag("--server", d.server, "API server HOST:PORT")
    flag("--node-name", socket.gethostname(), "this node's name (in the registered endpoint)")
    flag("--node-ip", d.node_ip, "the address to serve on, UDP and TCP, and to register")
    flag("--port", d.port, "the port to serve on (0: any free one)", type=int)
    flag("--cluster-domain", d.cluster_domain, "the cluster domain")
    flag("--ttl", d.ttl, "seconds resolvers may keep an answer", type=int)
    flag("--resolv-conf", str(d.resolv_conf), "resolver file whose nameservers are the upstreams ('' = none)")
    flag("--upstream", "", "upstream resolvers IP[:PORT],... (instead of the resolver file's)")
    flag("--upstream-timeout", d.upstream_timeout, "seconds an upstream has to answer", type=float)
    flag("--register-service", d.register_service,
         "NAMESPACE/NAME of the Service to register this instance with ('' = none)")
    flag("--register-interval", d.register_interval, "seconds between registration checks", type=float)
    add_log_flags(p, DAEMON)
    return p


def from_args(argv: list[str]) -> DnsConfig:
    args = parser().parse_args(argv)
    ip_address("--node-ip", args.node_ip)
    port_number("--port", args.port)
    domain = str(args.cluster_domain).strip(".").lower()
    problems = names.dns1123_subdomain(domain)
    if problems:
        raise ConfigError(f"--cluster-domain {args.cluster_domain!r}: {problems[0]}")
    if not 0 <= args.ttl <= 3600:
        raise ConfigError(f"--ttl {args.ttl}: must be between 0 and 3600")
    positive(args, "upstream_timeout", "register_interval")
    upstreams = []
    for item in filter(None, (part.strip() for part in str(args.upstream).split(","))):
        try:
            upstreams.append(parse_upstream(item))
        except ValueError as error:
            raise ConfigError(f"--upstream {item!r}: {error}") from None
    service = str(args.register_service)
    if service and (service.count("/") != 1 or not all(service.split("/"))):
        raise ConfigError(f"--register-service {service!r}: expected NAMESPACE/NAME")
    return DnsConfig(server=args.server, node_name=args.node_name, node_ip=args.node_ip, port=args.port,
                     cluster_domain=domain, ttl=args.ttl,
                     resolv_conf=Path(args.resolv_conf) if args.resolv_conf else None, upstreams=tuple(upstreams),
                     upstream_timeout=args.upstream_timeout, register_service=service,
                     register_interval=args.register_interval, log_level=args.log_level,
                     log_format=args.log_format)
