"""What the userspace proxy listens on, and which addresses it binds, for given routes (pure).

Each service port is reached at its cluster IP (internal traffic), and at its node port on the
node's IP, its external IPs and its load balancer IPs (external traffic). A frontend listens only
while it can forward something: a service with no endpoint has no listener, so its clients are
refused by the kernel (a TCP reset, an ICMP port unreachable), as kube-proxy's reject rules do.

The service addresses (cluster, external, LB) are bound on the proxy's dummy interface so that pods
and the node deliver them locally, except an address that is a node's own: this node's is already
local, and binding another node's would steal that node's traffic.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from proxy.model import ServicePortName
from proxy.routing import Route, Verdict


@dataclass(frozen=True, slots=True, order=True)
class Frontend:
    ip: str
    port: int
    protocol: str


@dataclass(frozen=True, slots=True)
class Binding:
    """A frontend and what it serves: `external` traffic follows externalTrafficPolicy."""

    name: ServicePortName
    external: bool


def frontends(route: Route, node_ip: str) -> dict[Frontend, Binding]:
    """The listeners one service port wants now."""
    port = route.port
    wanted: dict[Frontend, Binding] = {}
    if route.internal_verdict is Verdict.FORWARD:
        wanted[Frontend(port.cluster_ip, port.port, port.protocol)] = Binding(port.name, external=False)
    # External traffic from pods and the node goes to the Cluster endpoints even under a Local
    # policy, so the listener stays while either set has an endpoint.
    if route.has_endpoints and (route.external or route.cluster):
        for ip in (*port.external_ips, *port.load_balancer_ips):
            wanted[Frontend(ip, port.port, port.protocol)] = Binding(port.name, external=True)
        if port.node_port:
            wanted[Frontend(node_ip, port.node_port, port.protocol)] = Binding(port.name, external=True)
    return wanted


def merge_frontends(routes: Mapping[ServicePortName, Route], node_ip: str) -> tuple[dict[Frontend, Binding], list[str]]:
    """Every listener; when two service ports want the same address and port, the first by name
    keeps it (the conflicts are returned to be logged)."""
    merged: dict[Frontend, Binding] = {}
    conflicts = []
    for name in sorted(routes):
        for frontend, binding in frontends(routes[name], node_ip).items():
            held = merged.get(frontend)
            if held is not None and held.name != name:
                conflicts.append(f"{frontend.ip}:{frontend.port}/{frontend.protocol} is claimed by {held.name} and "
                                 f"{name}; {held.name} keeps it")
                continue
            merged[frontend] = binding
    return merged, conflicts


def service_addresses(routes: Iterable[Route], node_addresses: Iterable[str]) -> set[str]:
    """The addresses to bind on the dummy interface: every service's cluster, external and LB IPs
    (while the service exists, so that its clients are refused rather than left waiting), except
    the nodes' own addresses."""
    nodes = set(node_addresses)
    found: set[str] = set()
    for route in routes:
        found.update(ip for ip in route.port.addresses if ip not in nodes)
    return found
