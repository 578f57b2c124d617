"""Which node answers for each load balancer IP (pure): the proxies agree without talking.

Every proxy computes the same answer from the same API objects: the candidates for an address are
the nodes that are Ready and whose proxy is alive (its Lease, `kubelab-proxy-<node>` in
kube-system, was renewed within its duration, as this proxy observed it), and the owner is chosen
among them by rendezvous hashing (highest hash of address and node name), so that a node joining or
leaving moves only the addresses it wins or held. For a service with `externalTrafficPolicy:
Local`, only candidates that hold one of its endpoints are considered (when there is one), as
MetalLB's layer 2 mode does, since the others would drop the traffic.

Lease liveness uses this proxy's own clock: a lease is alive while it changed less than its
duration ago, by when this proxy saw it change (so clocks of different nodes need not agree).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

from controlplane.api.v1 import core_pb2

LEASE_NAMESPACE = "kube-system"
LEASE_PREFIX = "kubelab-proxy-"
LEASE_LABEL = ("kubelab.io/component", "proxy")


def lease_name(node: str) -> str:
    return f"{LEASE_PREFIX}{node}"


def node_of_lease(name: str) -> str:
    return name[len(LEASE_PREFIX):] if name.startswith(LEASE_PREFIX) else ""


@dataclass
class LeaseTracker:
    """When each proxy lease was last seen to change (by resourceVersion), in this proxy's time."""

    _seen: dict[str, tuple[str, float, float]] = field(default_factory=dict)  # node -> (version, at, duration)

    def observe(self, node: str, version: str, duration: float, now: float) -> None:
        held = self._seen.get(node)
        if held is None or held[0] != version:
            self._seen[node] = (version, now, duration)
        elif held[2] != duration:
            self._seen[node] = (version, held[1], duration)

    def forget(self, node: str) -> None:
        self._seen.pop(node, None)

    def alive(self, now: float) -> set[str]:
        return {node for node, (_, at, duration) in self._seen.items() if now - at <= duration}

    def next_expiry(self, now: float) -> float | None:
        """The soonest time a live lease would expire if not renewed (when to look again)."""
        times = [at + duration for _, at, duration in self._seen.values() if now - at <= duration]
        return min(times) if times else None


def node_ready(node: core_pb2.Node) -> bool:
    if node.metadata.deletion_timestamp:
        return False
    return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)


def candidates(nodes: Iterable[core_pb2.Node], alive: set[str]) -> list[str]:
    return sorted(node.metadata.name for node in nodes if node_ready(node) and node.metadata.name in alive)


def _score(address: str, node: str) -> bytes:
    return hashlib.sha256(f"{address}#{node}".encode()).digest()


def owner(address: str, nodes: Iterable[str]) -> str | None:
    """The node that answers for `address`: highest rendezvous score, None when there is no node."""
    return max(nodes, key=lambda node: (_score(address, node), node), default=None)


@dataclass(frozen=True, slots=True)
class Announced:
    """A load balancer address and the nodes preferred to answer for it (empty: any candidate)."""

    address: str
    preferred: frozenset[str] = frozenset()


def owned(addresses: Iterable[Announced], eligible: list[str], me: str) -> set[str]:
    """The addresses this node (`me`) must answer for."""
    mine = set()
    for item in addresses:
        pool = [node for node in eligible if node in item.preferred] or eligible
        if owner(item.address, pool) == me:
            mine.add(item.address)
    return mine

