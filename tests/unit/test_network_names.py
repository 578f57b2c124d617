"""Names of kernel objects: short enough for the kernel, stable per pod, distinct between pods."""

from __future__ import annotations

import ipaddress
import uuid
from pathlib import Path

import pytest

from agent.network.config import NodeNetworkConfig
from agent.network.names import bridge_mac, check_pod_uid, netns_name, pod_mac, uid12, veth_name

UIDS = [str(uuid.UUID(int=n * 7919 + 1, version=4)) for n in range(20000)]


def test_veth_names_fit_the_kernel_limit_and_start_with_kl() -> None:
    for uid in UIDS[:1000]:
        name = veth_name(uid)
        assert len(name) <= 15 and name.startswith("kl") and name[2:].isalnum()


def test_veth_names_are_stable_and_distinct() -> None:
    assert veth_name("3f2a9c1e-7b4d-4c3e-9a1b-2c3d4e5f6a7b") == veth_name("3f2a9c1e-7b4d-4c3e-9a1b-2c3d4e5f6a7b")
    assert len({veth_name(uid) for uid in UIDS}) == len(UIDS)
    assert veth_name("a") != veth_name("b")


@pytest.mark.parametrize(("prefix", "uid", "expected"), [
    ("kl-worker1", "3f2a9c1e-7b4d-4c3e-9a1b-2c3d4e5f6a7b", "kl-worker1-3f2a9c1e7b4d"),
    ("kl-worker2", "3f2a9c1e-7b4d-4c3e-9a1b-2c3d4e5f6a7b", "kl-worker2-3f2a9c1e7b4d"),
    ("kl-node", "ABC-def", "kl-node-abcdef"),
])
def test_netns_names_carry_the_node_prefix_and_the_start_of_the_uid(prefix: str, uid: str, expected: str) -> None:
    assert netns_name(prefix, uid) == expected
    assert len(uid12(uid)) <= 12


@pytest.mark.parametrize("uid", ["", "../etc", "a/b", "ipam", "-x", "a b", "x" * 129])
def test_uids_that_cannot_name_a_directory_are_refused(uid: str) -> None:
    with pytest.raises(ValueError, match="pod uid"):
        check_pod_uid(uid)


def test_macs_follow_addresses_and_are_locally_administered_unicast() -> None:
    assert bridge_mac("10.244.1.1") == "02:6b:0a:f4:01:01"
    assert bridge_mac("10.244.2.1") != bridge_mac("10.244.1.1")
    assert pod_mac("10.244.1.5") == "0a:58:0a:f4:01:05"
    for mac in (bridge_mac("10.244.1.1"), pod_mac("10.244.1.5")):
        first = int(mac[:2], 16)
        assert first & 0b10 and not first & 0b1


def _config(**overrides: object) -> NodeNetworkConfig:
    values: dict[str, object] = {"pod_cidr": ipaddress.IPv4Network("10.244.1.0/24"), "bridge": "kl-cbr0",
                                 "netns_prefix": "kl-worker1", "state_dir": Path("/tmp/x")}
    values.update(overrides)
    return NodeNetworkConfig(**values)  # type: ignore[arg-type]


def test_the_gateway_is_the_first_address() -> None:
    assert str(_config().gateway) == "10.244.1.1"


@pytest.mark.parametrize(("overrides", "message"), [
    ({"bridge": "kl-bridge-name-too-long"}, "an interface name is 1-15 characters"),
    ({"bridge": ""}, "an interface name"),
    ({"pod_cidr": ipaddress.IPv4Network("10.244.1.0/31")}, "too small"),
    ({"pod_cidr": "10.244.1.0/24"}, "want an IPv4 network"),
    ({"netns_prefix": "kl/worker"}, "netns_prefix"),
    ({"mtu": 20}, "mtu 20"),
])
def test_bad_settings_are_refused_with_the_reason(overrides: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _config(**overrides)
