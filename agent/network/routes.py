"""Routes to the other nodes' pod CIDRs: what to add, change and remove (pure).

The routes the agent installs carry their own routing protocol number, so the agent recognises
them from the kernel's table alone (no state file to get out of step, and a restarted agent
cleans up after its predecessor): `ip route show proto 107` lists exactly them. Routes with any
other protocol belong to someone else (the lab, an administrator, the kernel) and are never
changed; a wanted route whose destination someone else already routes is reported, not forced.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Unassigned in /etc/iproute2/rt_protos; 107 is ASCII "k".
ROUTE_PROTOCOL = "107"


@dataclass(frozen=True)
class RouteEntry:
    dst: ipaddress.IPv4Network
    gateway: str  # "" for a route without a next hop
    protocol: str  # as `ip -j route` names it: "kernel", "boot", "static", "107", ...


@dataclass(frozen=True)
class RoutePlan:
    replace: dict[ipaddress.IPv4Network, str] = field(default_factory=dict)  # dst -> next hop
    delete: tuple[ipaddress.IPv4Network, ...] = ()
    # dst -> why the wanted route is not installed
    skipped: dict[ipaddress.IPv4Network, str] = field(default_factory=dict)


def parse_routes(entries: Iterable[Mapping[str, Any]]) -> list[RouteEntry]:
    """`ip -4 -j route show table main` as RouteEntry (the default route and odd entries left out)."""
    routes: list[RouteEntry] = []
    for entry in entries:
        try:
            dst = ipaddress.IPv4Network(str(entry.get("dst", "")), strict=False)
        except ValueError:
            continue  # "default", or not IPv4
        # iproute2 prints no "protocol" for the default, "boot"
        routes.append(RouteEntry(dst, str(entry.get("gateway", "")), str(entry.get("protocol", "boot"))))
    return routes


def plan_routes(wanted: Mapping[ipaddress.IPv4Network, str], current: Iterable[RouteEntry], *,
                own_cidr: ipaddress.IPv4Network, protocol: str = ROUTE_PROTOCOL) -> RoutePlan:
    """Steps from the routes in the table to `wanted` (pod CIDR -> node IP) for the node owning
    `own_cidr`. The node's own CIDR (on its bridge) is skipped quietly, since callers may pass
    every node's; a CIDR inside it, or one already routed by someone else, is skipped with a reason
    (unless the other route already goes the wanted way)."""
    ours: dict[ipaddress.IPv4Network, RouteEntry] = {}
    theirs: dict[ipaddress.IPv4Network, RouteEntry] = {}
    for route in current:
        (ours if route.protocol == protocol else theirs)[route.dst] = route
    replace: dict[ipaddress.IPv4Network, str] = {}
    skipped: dict[ipaddress.IPv4Network, str] = {}
    keep: set[ipaddress.IPv4Network] = set()
    for dst, via in wanted.items():
        if dst == own_cidr:
            continue
        if dst.subnet_of(own_cidr) or own_cidr.subnet_of(dst):
            skipped[dst] = f"overlaps this node's pod CIDR {own_cidr}"
            continue
        other = theirs.get(dst)
        if other is not None:
            if other.gateway != via:
                how = f"via {other.gateway}" if other.gateway else "without a next hop"
                skipped[dst] = f"already routed {how} (protocol {other.protocol}), not by kubelab"
            continue
        keep.add(dst)
        mine = ours.get(dst)
        if mine is None or mine.gateway != via:
            replace[dst] = via
    delete = tuple(dst for dst in ours if dst not in keep)
    return RoutePlan(replace, delete, skipped)
