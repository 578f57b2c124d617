"""Which node answers for a load balancer address: agreement without talking."""

from __future__ import annotations

from proxy.announce import Announced, LeaseTracker, candidates, lease_name, node_of_lease, owned, owner
from tests.support.services import node

NODES = ["master", "worker1", "worker2"]
ADDRESSES = [f"10.240.0.{i}" for i in range(200, 251)]


def test_every_address_has_exactly_one_owner_and_all_nodes_get_some() -> None:
    owners = {address: owner(address, NODES) for address in ADDRESSES}
    assert set(owners.values()) == set(NODES)
    assert owner("10.240.0.200", []) is None


def test_the_owner_does_not_depend_on_the_order_the_nodes_are_listed_in() -> None:
    assert all(owner(a, NODES) == owner(a, list(reversed(NODES))) for a in ADDRESSES)


def test_a_node_leaving_moves_only_the_addresses_it_held() -> None:
    before = {address: owner(address, NODES) for address in ADDRESSES}
    after = {address: owner(address, ["master", "worker2"]) for address in ADDRESSES}
    moved = {address for address in ADDRESSES if before[address] != after[address]}
    assert moved == {address for address, held in before.items() if held == "worker1"}


def test_each_node_computes_its_own_share_and_the_shares_partition_the_addresses() -> None:
    items = [Announced(address) for address in ADDRESSES]
    shares = [owned(items, NODES, me) for me in NODES]
    assert set().union(*shares) == set(ADDRESSES) and sum(len(s) for s in shares) == len(ADDRESSES)


def test_a_local_policy_address_goes_to_a_node_with_an_endpoint_when_there_is_one() -> None:
    item = Announced("10.240.0.200", frozenset({"worker2"}))
    assert owned([item], NODES, "worker2") == {"10.240.0.200"}
    assert owned([item], NODES, "worker1") == owned([item], NODES, "master") == set()
    nobody_eligible = Announced("10.240.0.200", frozenset({"worker9"}))
    assert sum(len(owned([nobody_eligible], NODES, me)) for me in NODES) == 1


def test_candidates_are_ready_nodes_whose_proxy_lease_is_alive() -> None:
    nodes = [node("master"), node("worker1", ready=False), node("worker2")]
    assert candidates(nodes, {"master", "worker1"}) == ["master"]
    assert candidates(nodes, {"master", "worker1", "worker2"}) == ["master", "worker2"]


def test_a_lease_is_alive_while_it_changed_within_its_duration_by_this_proxys_clock() -> None:
    leases = LeaseTracker()
    leases.observe("worker1", "10", duration=3, now=100)
    leases.observe("worker2", "11", duration=3, now=100)
    leases.observe("worker1", "10", duration=3, now=102)  # seen again unchanged: not a renewal
    leases.observe("worker2", "12", duration=3, now=102)
    assert leases.alive(103) == {"worker1", "worker2"}
    assert leases.next_expiry(103) == 103
    assert leases.alive(103.5) == {"worker2"} and leases.next_expiry(103.5) == 105
    leases.forget("worker2")
    assert leases.alive(103.5) == set() and leases.next_expiry(103.5) is None


def test_lease_names_carry_the_node() -> None:
    assert node_of_lease(lease_name("worker1")) == "worker1"
    assert node_of_lease("kube-controller-manager") == ""
