"""Pod ranges of a cluster CIDR: allocation in turn, occupied ranges skipped, released ones reused last."""

from __future__ import annotations

import ipaddress

import pytest

from controlplane.api.v1 import core_pb2
from controlplane.controllers.nodeipam.cidrset import CidrSet, CidrSetError
from controlplane.controllers.nodeipam.controller import node_cidrs

net = ipaddress.IPv4Network


def test_allocates_slash_24s_in_order_from_the_cluster_cidr() -> None:
    cidrs = CidrSet(net("10.244.0.0/16"), 24)
    assert [str(cidrs.allocate()) for _ in range(3)] == ["10.244.0.0/24", "10.244.1.0/24", "10.244.2.0/24"]
    assert cidrs.size == 256 and len(cidrs) == 3


def test_ranges_nodes_already_carry_are_skipped() -> None:
    cidrs = CidrSet(net("10.244.0.0/16"), 24)
    for taken in ("10.244.0.0/24", "10.244.1.0/24", "10.244.3.0/24"):
        cidrs.occupy(net(taken))
    assert [str(cidrs.allocate()) for _ in range(2)] == ["10.244.2.0/24", "10.244.4.0/24"]


def test_a_released_range_comes_back_only_after_the_others() -> None:
    cidrs = CidrSet(net("10.0.0.0/30"), 32)  # four ranges
    first = [cidrs.allocate() for _ in range(3)]
    cidrs.release(first[0])
    assert cidrs.allocate() == net("10.0.0.3/32")
    assert cidrs.allocate() == net("10.0.0.0/32")
    assert cidrs.allocate() is None  # all taken


@pytest.mark.parametrize(("occupied", "covered"), [
    ("10.244.4.0/23", ["10.244.4.0/24", "10.244.5.0/24"]),  # wider than a node's range: every range inside
    ("10.244.6.128/25", ["10.244.6.0/24"]),  # narrower: the range that holds it
])
def test_occupying_other_sizes(occupied: str, covered: list[str]) -> None:
    cidrs = CidrSet(net("10.244.0.0/16"), 24)
    cidrs.occupy(net(occupied))
    assert all(cidrs.is_used(net(c)) for c in covered) and len(cidrs) == len(covered)


def test_a_range_outside_the_cluster_cidr_is_refused() -> None:
    cidrs = CidrSet(net("10.244.0.0/16"), 24)
    assert not cidrs.contains(net("10.1.0.0/24"))
    with pytest.raises(CidrSetError, match="not inside the cluster CIDR"):
        cidrs.occupy(net("10.1.0.0/24"))


def test_a_mask_wider_than_the_cluster_is_refused() -> None:
    with pytest.raises(CidrSetError):
        CidrSet(net("10.244.0.0/16"), 8)


def test_a_nodes_ranges_prefer_pod_cidrs_and_skip_what_is_not_ipv4() -> None:
    node = core_pb2.Node(spec=core_pb2.NodeSpec(pod_cidr="10.244.7.0/24", pod_cidrs=["10.244.7.0/24", "fd00::/64"]))
    assert node_cidrs(node) == [net("10.244.7.0/24")]
    assert node_cidrs(core_pb2.Node(spec=core_pb2.NodeSpec(pod_cidr="10.244.8.0/24"))) == [net("10.244.8.0/24")]
    assert node_cidrs(core_pb2.Node()) == []
