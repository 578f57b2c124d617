"""Stale UDP conntrack entries after a route change, as kube-proxy clears them."""

from __future__ import annotations

from proxy.nft.conntrack import stale_udp_entries
from proxy.routing import route
from tests.support.services import ep, port

A, B = ep("10.244.1.2"), ep("10.244.2.2", "worker2")


def test_entries_to_a_removed_udp_endpoint_are_deleted_for_every_service_address() -> None:
    p = port(protocol="UDP", port=53, node_port=30053, external_ips=("192.0.2.9",))
    assert stale_udp_entries(route(p, [A, B], "worker1"), route(p, [A], "worker1")) == [
        ("-D", "-p", "udp", "--orig-dst", "10.96.0.20", "--orig-port-dst", "53", "--dst-nat", "10.244.2.2"),
        ("-D", "-p", "udp", "--orig-dst", "192.0.2.9", "--orig-port-dst", "53", "--dst-nat", "10.244.2.2"),
        ("-D", "-p", "udp", "--orig-port-dst", "30053", "--dst-nat", "10.244.2.2")]


def test_a_udp_service_getting_its_first_endpoint_forgets_the_refused_flows() -> None:
    p = port(protocol="UDP", port=53)
    assert stale_udp_entries(route(p, [], "worker1"), route(p, [A], "worker1")) == [
        ("-D", "-p", "udp", "--orig-dst", "10.96.0.20", "--orig-port-dst", "53")]
    assert stale_udp_entries(None, route(p, [A], "worker1")) == [
        ("-D", "-p", "udp", "--orig-dst", "10.96.0.20", "--orig-port-dst", "53")]


def test_tcp_and_unchanged_udp_routes_need_nothing() -> None:
    assert stale_udp_entries(route(port(), [A, B], "worker1"), route(port(), [A], "worker1")) == []
    p = port(protocol="UDP", port=53)
    assert stale_udp_entries(route(p, [A], "worker1"), route(p, [A, B], "worker1")) == []
