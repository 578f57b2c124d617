"""Routes to other nodes' pod CIDRs: add the missing, fix the moved, remove the stale, never touch others'."""

from __future__ import annotations

import ipaddress
from typing import Any

import pytest

from agent.network.routes import RouteEntry, RoutePlan, parse_routes, plan_routes

NET = ipaddress.IPv4Network
OWN = NET("10.244.1.0/24")


def ours(dst: str, via: str) -> RouteEntry:
    return RouteEntry(NET(dst), via, "107")


def theirs(dst: str, via: str = "", protocol: str = "boot") -> RouteEntry:
    return RouteEntry(NET(dst), via, protocol)


@pytest.mark.parametrize(("wanted", "current", "plan"), [
    ({}, [], RoutePlan()),
    ({"10.244.2.0/24": "10.240.0.12"}, [],
     RoutePlan(replace={NET("10.244.2.0/24"): "10.240.0.12"})),
    ({"10.244.2.0/24": "10.240.0.12"}, [ours("10.244.2.0/24", "10.240.0.12")], RoutePlan()),
    ({"10.244.2.0/24": "10.240.0.13"}, [ours("10.244.2.0/24", "10.240.0.12")],    # the node moved
     RoutePlan(replace={NET("10.244.2.0/24"): "10.240.0.13"})),
    ({}, [ours("10.244.2.0/24", "10.240.0.12"), theirs("10.99.0.0/24", "10.240.0.1")],  # stale: ours only
     RoutePlan(delete=(NET("10.244.2.0/24"),))),
    ({"10.244.1.0/24": "10.240.0.11", "10.244.0.0/24": "10.240.0.10"},           # own CIDR skipped quietly
     [theirs("10.244.1.0/24", protocol="kernel")],
     RoutePlan(replace={NET("10.244.0.0/24"): "10.240.0.10"})),
    ({"10.244.1.128/25": "10.240.0.12"}, [],
     RoutePlan(skipped={NET("10.244.1.128/25"): "overlaps this node's pod CIDR 10.244.1.0/24"})),
    ({"10.244.2.0/24": "10.240.0.12"}, [theirs("10.244.2.0/24", "10.240.0.12")], RoutePlan()),  # already so
    ({"10.244.2.0/24": "10.240.0.12"}, [theirs("10.244.2.0/24", "10.240.0.99", "static")],
     RoutePlan(skipped={NET("10.244.2.0/24"): "already routed via 10.240.0.99 (protocol static), not by kubelab"})),
    ({"10.244.2.0/24": "10.240.0.12"}, [theirs("10.244.2.0/24", "", "kernel"), ours("10.244.3.0/24", "10.240.0.13")],
     RoutePlan(delete=(NET("10.244.3.0/24"),),
               skipped={NET("10.244.2.0/24"): "already routed without a next hop (protocol kernel), not by kubelab"})),
])
def test_plan(wanted: dict[str, str], current: list[RouteEntry], plan: RoutePlan) -> None:
    assert plan_routes({NET(k): v for k, v in wanted.items()}, current, own_cidr=OWN) == plan


def test_parse_ip_json_routes() -> None:
    entries: list[dict[str, Any]] = [
        {"dst": "default", "gateway": "10.240.0.1", "dev": "eth0", "flags": []},
        {"dst": "10.240.0.0/24", "dev": "eth0", "protocol": "kernel", "scope": "link", "prefsrc": "10.240.0.11"},
        {"dst": "10.244.2.0/24", "gateway": "10.240.0.12", "dev": "eth0", "protocol": "107", "flags": []},
        {"dst": "10.6.0.5", "gateway": "10.240.0.3", "dev": "eth0", "flags": []},
        {"type": "unreachable", "dst": "10.7.0.0/16", "flags": []},
    ]
    assert parse_routes(entries) == [
        RouteEntry(NET("10.240.0.0/24"), "", "kernel"),
        RouteEntry(NET("10.244.2.0/24"), "10.240.0.12", "107"),
        RouteEntry(NET("10.6.0.5/32"), "10.240.0.3", "boot"),
        RouteEntry(NET("10.7.0.0/16"), "", "boot"),
    ]
