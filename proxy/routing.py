"""Where traffic to one service port goes from this node (pure): Kubernetes' traffic policies.

`route(port, endpoints, node)` sorts a port's endpoints the way kube-proxy's CategorizeEndpoints
does: Cluster policy uses the ready endpoints, or, when none is ready anywhere, those still serving
while terminating; Local policy does the same with this node's endpoints only. Internal traffic
(to the cluster IP) follows `internalTrafficPolicy`; external traffic (node ports, external IPs,
load balancer IPs) follows `externalTrafficPolicy`, except that traffic from a pod or from the node
itself is never subject to Local: it is short-circuited to the Cluster endpoints, as if it had gone
out to the load balancer and come back.

A port with no usable endpoint anywhere rejects (the client sees "connection refused"); a Local
policy with usable endpoints elsewhere but none here drops.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum

from proxy.model import Endpoint, ServicePort


class Verdict(Enum):
    FORWARD = "forward"
    REJECT = "reject"  # no endpoint anywhere
    DROP = "drop"  # a Local policy and no endpoint on this node


@dataclass(frozen=True, slots=True)
class Route:
    port: ServicePort
    cluster: tuple[Endpoint, ...]  # the endpoints of Cluster policy
    local: tuple[Endpoint, ...]  # the endpoints of Local policy (on this node)
    has_endpoints: bool  # a usable endpoint exists somewhere
    # The nodes that hold a usable endpoint (ready, or serving while terminating when none is ready).
    nodes: frozenset[str] = frozenset()

    @property
    def internal(self) -> tuple[Endpoint, ...]:
        """The endpoints of traffic to the cluster IP."""
        return self.local if self.port.internal_local else self.cluster

    @property
    def external(self) -> tuple[Endpoint, ...]:
        """The endpoints of traffic from outside the cluster to an external destination."""
        return self.local if self.port.external_local else self.cluster

    @property
    def internal_verdict(self) -> Verdict:
        if not self.has_endpoints:
            return Verdict.REJECT
        return Verdict.FORWARD if self.internal else Verdict.DROP

    @property
    def external_verdict(self) -> Verdict:
        if not self.has_endpoints:
            return Verdict.REJECT
        return Verdict.FORWARD if self.external else Verdict.DROP

    def for_client(self, *, external: bool, inside: bool) -> tuple[Endpoint, ...]:
        """The endpoints for one connection: `external` when it came to an external destination,
        `inside` when the client is a pod or this node (never subject to the Local policy there)."""
        if not external:
            return self.internal
        return self.cluster if inside else self.external

    @property
    def reachable(self) -> tuple[Endpoint, ...]:
        """Every endpoint any traffic through this node may reach (cluster first, then local ones)."""
        extra = tuple(e for e in self.local if e not in self.cluster)
        return self.cluster + extra


def _only(endpoints: Iterable[Endpoint], keep: Callable[[Endpoint], bool]) -> tuple[Endpoint, ...]:
    return tuple(e for e in endpoints if keep(e))


def _serving_terminating(endpoint: Endpoint) -> bool:
    return endpoint.serving and endpoint.terminating


def route(port: ServicePort, endpoints: Iterable[Endpoint], node_name: str) -> Route:
    every = tuple(endpoints)
    cluster: tuple[Endpoint, ...] = ()
    has_endpoints = False
    if port.uses_cluster_endpoints:
        cluster = _only(every, lambda e: e.ready) or _only(every, _serving_terminating)
        has_endpoints = bool(cluster)
    local: tuple[Endpoint, ...] = ()
    if port.uses_local_endpoints:
        has_endpoints = has_endpoints or any(e.ready or _serving_terminating(e) for e in every)
        mine = _only(every, lambda e: e.node_name == node_name)
        local = _only(mine, lambda e: e.ready) or _only(mine, _serving_terminating)
    usable = _only(every, lambda e: e.ready) or _only(every, _serving_terminating)
    return Route(port, cluster, local, has_endpoints, frozenset(e.node_name for e in usable if e.node_name))
