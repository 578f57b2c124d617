"""The nftables rules of a service port, and the transactions between two states of the table."""

from __future__ import annotations

from typing import Any

import pytest

from proxy.model import ServicePort, ServicePortName
from proxy.nft import diff
from proxy.nft.ruleset import (
    Desired,
    NodeContext,
    affinity_set,
    endpoint_chain,
    external_chain,
    fragment,
    local_chain,
    merge,
    service_chain,
    skeleton,
)
from proxy.routing import route
from tests.support.services import ep, port

CONTEXT = NodeContext(node_ip="10.240.0.11", cluster_cidr="10.244.0.0/16")
NAME = ServicePortName("default", "web", "http", "TCP")
HERE, THERE = ep("10.244.1.2", "worker1"), ep("10.244.2.2", "worker2")


def rules_of(**kwargs: Any) -> Any:
    endpoints = kwargs.pop("endpoints", [HERE, THERE])
    return fragment(route(port(**kwargs), endpoints, "worker1"), CONTEXT)


def test_chain_names_are_readable_unique_and_valid_nft_identifiers() -> None:
    assert service_chain(NAME).startswith("service-") and service_chain(NAME).endswith("-default/web/tcp/http")
    assert endpoint_chain(NAME, HERE).endswith("-default/web/tcp/http__10.244.1.2/3000")
    assert endpoint_chain(NAME, HERE) != endpoint_chain(NAME, THERE)
    assert affinity_set(NAME, HERE, 60) != affinity_set(NAME, HERE, 10800)  # a new timeout is a new set
    other = ServicePortName("default", "web", "https", "TCP")
    assert len({service_chain(NAME), service_chain(other), local_chain(NAME), external_chain(NAME)}) == 4


def test_a_clusterip_balances_at_random_over_its_endpoints_and_masquerades_outsiders() -> None:
    part = rules_of()
    assert part.chains[service_chain(NAME)] == (
        "ip daddr 10.96.0.20 tcp dport 80 ip saddr != 10.244.0.0/16 jump mark-for-masquerade",
        f"numgen random mod 2 vmap {{ 0 : goto {endpoint_chain(NAME, HERE)} , "
        f"1 : goto {endpoint_chain(NAME, THERE)} }}")
    assert part.chains[endpoint_chain(NAME, HERE)] == (
        "ip saddr 10.244.1.2 jump mark-for-masquerade", "meta l4proto tcp dnat to 10.244.1.2:3000")
    assert part.elements == {("service-ips", "10.96.0.20 . tcp . 80"): f"goto {service_chain(NAME)}",
                             ("cluster-ips", "10.96.0.20"): ""}


def test_client_ip_affinity_checks_each_endpoints_set_first_and_endpoints_refresh_it() -> None:
    part = rules_of(affinity_seconds=600)
    chain = part.chains[service_chain(NAME)]
    assert chain[1] == f"ip saddr @{affinity_set(NAME, HERE, 600)} goto {endpoint_chain(NAME, HERE)}"
    assert chain[-1].startswith("numgen random mod 2 vmap")
    assert f"update @{affinity_set(NAME, THERE, 600)} {{ ip saddr }}" in part.chains[endpoint_chain(NAME, THERE)]
    assert part.sets == {affinity_set(NAME, HERE, 600): 600, affinity_set(NAME, THERE, 600): 600}


@pytest.mark.parametrize(("kwargs", "expected"), [
    ({"endpoints": []}, {("no-endpoint-services", "10.96.0.20 . tcp . 80"): "goto reject-chain",
                         ("cluster-ips", "10.96.0.20"): ""}),
    ({"endpoints": [THERE], "internal_local": True}, {("no-endpoint-services", "10.96.0.20 . tcp . 80"): "drop",
                                                      ("cluster-ips", "10.96.0.20"): ""}),
])
def test_without_usable_endpoints_the_cluster_ip_is_rejected_or_dropped(kwargs: dict[str, Any],
                                                                        expected: dict[Any, str]) -> None:
    part = rules_of(**kwargs)
    assert part.elements == expected
    assert not any(chain.startswith(("service-", "local-")) for chain in part.chains)


def test_external_traffic_under_cluster_policy_is_masqueraded_then_balanced_like_internal() -> None:
    part = rules_of(node_port=30080, load_balancer_ips=("10.240.0.200",), external_ips=("192.0.2.9",))
    assert part.chains[external_chain(NAME)] == ("jump mark-for-masquerade", f"goto {service_chain(NAME)}")
    for key in (("service-ips", "10.240.0.200 . tcp . 80"), ("service-ips", "192.0.2.9 . tcp . 80"),
                ("service-nodeports", "tcp . 30080")):
        assert part.elements[key] == f"goto {external_chain(NAME)}"


def test_external_traffic_under_local_policy_keeps_the_client_address_except_from_pods_and_the_node() -> None:
    part = rules_of(node_port=30080, external_local=True)
    assert part.chains[external_chain(NAME)] == (
        f"ip saddr 10.244.0.0/16 goto {service_chain(NAME)}",
        "fib saddr type local jump mark-for-masquerade",
        f"fib saddr type local goto {service_chain(NAME)}",
        f"goto {local_chain(NAME)}")
    assert part.chains[local_chain(NAME)] == (f"numgen random mod 1 vmap {{ 0 : goto {endpoint_chain(NAME, HERE)} }}",)


def test_a_local_policy_without_local_endpoints_drops_outsiders_but_serves_pods() -> None:
    part = rules_of(node_port=30080, external_local=True, endpoints=[THERE])
    assert part.elements[("service-nodeports", "tcp . 30080")] == f"goto {external_chain(NAME)}"
    assert part.elements[("no-endpoint-nodeports", "tcp . 30080")] == "drop"
    assert local_chain(NAME) not in part.chains


def test_same_bridge_connections_are_masqueraded_when_bridged_frames_skip_netfilter() -> None:
    hairpin = NodeContext(node_ip="10.240.0.11", hairpin_cidr="10.244.1.0/24")
    part = fragment(route(port(), [HERE, THERE], "worker1"), hairpin)
    assert "ip saddr 10.244.1.0/24 jump mark-for-masquerade" in part.chains[endpoint_chain(NAME, HERE)]
    assert "ip saddr 10.244.1.0/24 jump mark-for-masquerade" not in part.chains[endpoint_chain(NAME, THERE)]


def test_two_services_claiming_one_destination_leave_it_to_the_first_by_name() -> None:
    first = ServicePortName("default", "a", "", "TCP")
    second = ServicePortName("default", "b", "", "TCP")
    one = fragment(route(ServicePort(first, "10.96.0.21", 80, external_ips=("192.0.2.9",)), [HERE], "worker1"),
                   CONTEXT)
    two = fragment(route(ServicePort(second, "10.96.0.22", 80, external_ips=("192.0.2.9",)), [THERE], "worker1"),
                   CONTEXT)
    desired, conflicts = merge([(second, two), (first, one)])
    assert desired.elements[("service-ips", "192.0.2.9 . tcp . 80")] == f"goto {external_chain(first)}"
    assert conflicts == [f"192.0.2.9 . tcp . 80 (service-ips) is claimed by {first} and {second}; {first} keeps it"]


def test_the_skeleton_hooks_dnat_filter_and_masquerade_at_kube_proxys_priorities() -> None:
    commands = skeleton(CONTEXT)
    assert commands[0] == 'add table ip kubelab { comment "rules of the kubelab proxy" ; }'
    assert "add element ip kubelab nodeport-ips { 10.240.0.11 }" in commands
    for chain, hook in (("nat-prerouting", "type nat hook prerouting priority -100"),
                        ("nat-output", "type nat hook output priority -100"),
                        ("nat-postrouting", "type nat hook postrouting priority 100"),
                        ("filter-forward", "type filter hook forward priority -110")):
        assert f"add chain ip kubelab {chain} {{ {hook} ; policy accept ; }}" in commands
    assert "add rule ip kubelab masquerading masquerade fully-random" in commands


def test_an_unchanged_table_needs_no_transaction() -> None:
    desired, _ = merge([(NAME, rules_of())])
    assert diff.transaction(desired, desired) == []


def test_an_endpoint_change_rewrites_the_service_chain_and_the_endpoint_chains_only() -> None:
    before, _ = merge([(NAME, rules_of())])
    after, _ = merge([(NAME, rules_of(endpoints=[HERE]))])
    commands = diff.transaction(before, after)
    t = "ip kubelab"
    assert commands == [
        f"flush chain {t} {service_chain(NAME)}",
        f"add rule {t} {service_chain(NAME)} ip daddr 10.96.0.20 tcp dport 80 ip saddr != 10.244.0.0/16 jump "
        "mark-for-masquerade",
        f"add rule {t} {service_chain(NAME)} numgen random mod 1 vmap {{ 0 : goto {endpoint_chain(NAME, HERE)} }}",
        f"flush chain {t} {endpoint_chain(NAME, THERE)}",
        f"delete chain {t} {endpoint_chain(NAME, THERE)}",
    ]


def test_removing_a_service_deletes_its_elements_before_its_chains_and_sets() -> None:
    before, _ = merge([(NAME, rules_of(affinity_seconds=60, node_port=30080))])
    commands = diff.transaction(before, Desired())
    kinds = [command.split()[0:2] for command in commands]
    first_chain_delete = kinds.index(["flush", "chain"])
    assert all(kind == ["delete", "element"] for kind in kinds[:first_chain_delete])
    assert kinds[-2:] == [["delete", "set"], ["delete", "set"]]
    assert len([k for k in kinds if k == ["delete", "chain"]]) == len(before.chains)


def test_a_changed_element_value_is_deleted_and_added_again_in_one_transaction() -> None:
    before, _ = merge([(NAME, rules_of(endpoints=[]))])
    after, _ = merge([(NAME, rules_of())])
    commands = diff.transaction(before, after)
    assert "delete element ip kubelab no-endpoint-services { 10.96.0.20 . tcp . 80 }" in commands
    assert f"add element ip kubelab service-ips {{ 10.96.0.20 . tcp . 80 : goto {service_chain(NAME)} }}" in commands
    assert commands.index(f"add chain ip kubelab {service_chain(NAME)}") < commands.index(
        f"add element ip kubelab service-ips {{ 10.96.0.20 . tcp . 80 : goto {service_chain(NAME)} }}")


def test_a_full_load_replaces_any_table_of_that_name_atomically() -> None:
    commands = diff.full_load(CONTEXT, Desired())
    assert commands[:2] == ["add table ip kubelab", "delete table ip kubelab"]
    assert diff.removal() == ["add table ip kubelab", "delete table ip kubelab"]
