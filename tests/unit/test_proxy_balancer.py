"""Round-robin with ClientIP affinity, time passed in."""

from __future__ import annotations

from proxy.balancer import Balancer
from tests.support.services import ep

A, B, C = ep("10.244.1.2"), ep("10.244.1.3"), ep("10.244.2.2")


def test_each_new_connection_starts_one_endpoint_further_and_lists_the_others_after() -> None:
    balancer = Balancer()
    orders = [balancer.candidates([A, B, C], "10.0.0.1", now=0) for _ in range(4)]
    assert orders == [[A, B, C], [B, C, A], [C, A, B], [A, B, C]]


def test_the_turn_survives_a_change_of_endpoints() -> None:
    balancer = Balancer()
    balancer.candidates([A, B, C], "10.0.0.1", now=0)
    assert balancer.candidates([A, B], "10.0.0.1", now=0)[0] == B
    assert balancer.candidates([A, B], "10.0.0.1", now=0)[0] == A
    assert balancer.candidates([], "10.0.0.1", now=0) == []


def test_without_affinity_a_client_is_not_remembered() -> None:
    balancer = Balancer()
    balancer.connected(A, "10.0.0.1", now=0)
    assert len(balancer) == 0 and balancer.candidates([A, B], "10.0.0.1", now=1)[0] == A


def test_a_client_sticks_to_the_endpoint_that_answered_until_the_timeout_after_its_last_connection() -> None:
    balancer = Balancer(affinity_seconds=10)
    first = balancer.candidates([A, B, C], "10.0.0.1", now=0)
    balancer.connected(first[1], "10.0.0.1", now=0)  # the first refused, the second answered
    for moment in (1, 5, 14):  # every connection refreshes the affinity
        order = balancer.candidates([A, B, C], "10.0.0.1", now=moment)
        assert order[0] == B and sorted(order) == sorted([A, B, C])
        balancer.connected(B, "10.0.0.1", now=moment)
    assert balancer.sticky("10.0.0.2", now=14) is None  # another client is free
    assert balancer.sticky("10.0.0.1", now=24) == B
    assert balancer.sticky("10.0.0.1", now=24.5) is None


def test_an_affinity_to_an_endpoint_that_is_gone_ends() -> None:
    balancer = Balancer(affinity_seconds=100)
    balancer.connected(C, "10.0.0.1", now=0)
    assert balancer.candidates([A, B], "10.0.0.1", now=1)[0] in (A, B)
    balancer.retarget(100, [A, B])
    assert balancer.sticky("10.0.0.1", now=1) is None


def test_turning_affinity_off_forgets_every_client_and_sweeping_drops_the_expired() -> None:
    balancer = Balancer(affinity_seconds=5)
    balancer.connected(A, "10.0.0.1", now=0)
    balancer.connected(B, "10.0.0.2", now=4)
    balancer.sweep(now=7)
    assert balancer.sticky("10.0.0.1", now=7) is None and balancer.sticky("10.0.0.2", now=7) == B
    balancer.retarget(0, [A, B])
    assert len(balancer) == 0
