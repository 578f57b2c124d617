"""The load balancer address pool and the address each LoadBalancer service gets."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.controllers.loadbalancer import choose_address
from controlplane.lbpool import PoolError, parse_pool
from tests.support.services import service

POOL = parse_pool("10.240.0.200-10.240.0.202")


@pytest.mark.parametrize(("text", "addresses"), [
    ("10.240.0.200-10.240.0.202", ["10.240.0.200", "10.240.0.201", "10.240.0.202"]),
    ("192.0.2.0/30", ["192.0.2.1", "192.0.2.2"]),
    ("192.0.2.8/32, 10.0.0.1-10.0.0.1", ["192.0.2.8", "10.0.0.1"]),
    ("", []),
])
def test_pools_are_ranges_or_cidrs(text: str, addresses: list[str]) -> None:
    pool = parse_pool(text)
    assert list(pool) == addresses and len(pool) == len(addresses) and bool(pool) == bool(addresses)


@pytest.mark.parametrize(("text", "message"), [
    ("10.240.0.250-10.240.0.200", "'10.240.0.250-10.240.0.200': the range ends before it starts"),
    ("10.240.0.300-10.240.0.301", "'10.240.0.300-10.240.0.301': Octet 300 (> 255) not permitted in '10.240.0.300'"),
    ("lots", "'lots': "),
])
def test_a_bad_pool_is_refused_in_one_line_naming_the_part(text: str, message: str) -> None:
    with pytest.raises(PoolError) as caught:
        parse_pool(text)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_membership_and_the_first_free_address() -> None:
    assert "10.240.0.201" in POOL and "10.240.0.203" not in POOL and "nonsense" not in POOL
    assert POOL.first_free(["10.240.0.200"]) == "10.240.0.201"
    assert POOL.first_free(list(POOL)) is None


def lb(name: str, created: str, ip: str = "", requested: str = "", **spec: Any) -> Any:
    result = service(name, type="LoadBalancer", status={"loadBalancer": {"ingress": [{"ip": ip}]}} if ip else None,
                     **({"loadBalancerIP": requested} if requested else {}), **spec)
    result.metadata.creation_timestamp = created
    return result


def test_a_new_service_gets_the_lowest_free_address_and_keeps_the_one_it_has() -> None:
    one = lb("one", "2024-01-01T00:00:00Z", ip="10.240.0.200")
    two = lb("two", "2024-01-02T00:00:00Z")
    assert choose_address(two, [one, two], POOL).address == "10.240.0.201"
    kept = lb("two", "2024-01-02T00:00:00Z", ip="10.240.0.202")
    assert choose_address(kept, [one, kept], POOL).address == "10.240.0.202"


def test_an_address_claimed_twice_stays_with_the_older_service() -> None:
    old = lb("old", "2024-01-01T00:00:00Z", ip="10.240.0.200")
    young = lb("young", "2024-01-02T00:00:00Z", ip="10.240.0.200")
    assert choose_address(old, [old, young], POOL).address == "10.240.0.200"
    assert choose_address(young, [old, young], POOL).address == "10.240.0.201"


def test_a_requested_address_is_given_unless_outside_the_pool_or_held_by_an_older_service() -> None:
    old = lb("old", "2024-01-01T00:00:00Z", ip="10.240.0.200")
    asks = lb("asks", "2024-01-02T00:00:00Z", requested="10.240.0.202")
    assert choose_address(asks, [old, asks], POOL).address == "10.240.0.202"
    greedy = lb("greedy", "2024-01-02T00:00:00Z", requested="10.240.0.200")
    assert choose_address(greedy, [old, greedy], POOL).error == (
        "requested loadBalancerIP 10.240.0.200 is already in use")
    outside = lb("outside", "2024-01-02T00:00:00Z", requested="10.9.9.9")
    assert choose_address(outside, [outside], POOL).error == (
        "requested loadBalancerIP 10.9.9.9 is not in the pool 10.240.0.200-10.240.0.202")


def test_an_exhausted_pool_says_so_and_other_classes_and_types_do_not_count() -> None:
    holders = [lb(f"s{i}", f"2024-01-0{i + 1}T00:00:00Z", ip=address) for i, address in enumerate(POOL)]
    late = lb("late", "2024-02-01T00:00:00Z")
    assert choose_address(late, [*holders, late], POOL).error == "no address left in the pool 10.240.0.200-10.240.0.202"
    other_class = lb("other", "2024-01-01T00:00:00Z", ip="10.240.0.200", loadBalancerClass="example.com/lb")
    plain = service("plain", status={"loadBalancer": {"ingress": [{"ip": "10.240.0.201"}]}})
    assert choose_address(late, [other_class, plain, late], POOL).address == "10.240.0.200"
