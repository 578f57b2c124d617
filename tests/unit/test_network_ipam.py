"""Pod addresses: the pool skips network, gateway and broadcast, goes round robin, survives a restart,
and says so cleanly when it is full."""

from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from agent.network.ipam import Ipam, RangeFull, next_free, pool, pool_size

IP = ipaddress.IPv4Address
NET = ipaddress.IPv4Network


@pytest.mark.parametrize(("cidr", "first", "last", "size"), [
    ("10.244.1.0/24", "10.244.1.2", "10.244.1.254", 253),
    ("10.250.0.0/29", "10.250.0.2", "10.250.0.6", 5),
    ("10.250.0.0/30", "10.250.0.2", "10.250.0.2", 1),
    ("10.244.0.0/16", "10.244.0.2", "10.244.255.254", 65533),
])
def test_pool_leaves_out_network_gateway_and_broadcast(cidr: str, first: str, last: str, size: int) -> None:
    assert pool(NET(cidr)) == (IP(first), IP(last))
    assert pool_size(NET(cidr)) == size


@pytest.mark.parametrize(("used", "after", "expected"), [
    ((), None, "10.250.0.2"),                                       # an empty pool starts after the gateway
    (("10.250.0.2",), None, "10.250.0.3"),
    (("10.250.0.2", "10.250.0.4"), None, "10.250.0.3"),             # holes are filled
    (("10.250.0.2",), "10.250.0.2", "10.250.0.3"),
    ((), "10.250.0.3", "10.250.0.4"),                               # round robin: not the freed .2, .3
    ((), "10.250.0.6", "10.250.0.2"),                               # wraps past the last address
    (("10.250.0.5", "10.250.0.6"), "10.250.0.4", "10.250.0.2"),     # wraps past taken ones
    ((), "10.9.9.9", "10.250.0.2"),                                 # a remembered address from elsewhere
    (("10.250.0.2", "10.250.0.3", "10.250.0.4", "10.250.0.5", "10.250.0.6"), "10.250.0.3", None),  # full
])
def test_next_free(used: tuple[str, ...], after: str | None, expected: str | None) -> None:
    found = next_free(NET("10.250.0.0/29"), {IP(a) for a in used}, IP(after) if after else None)
    assert found == (IP(expected) if expected else None)


def test_allocation_is_per_pod_and_stable(tmp_path: Path) -> None:
    ipam = Ipam(NET("10.244.1.0/24"), tmp_path)
    a, b = ipam.allocate("uid-a"), ipam.allocate("uid-b")
    assert (a, b) == (IP("10.244.1.2"), IP("10.244.1.3"))
    assert ipam.allocate("uid-a") == a
    assert (tmp_path / "10.244.1.2").read_text() == "uid-a"


def test_a_restarted_agent_finds_the_allocations_and_continues_after_the_last(tmp_path: Path) -> None:
    first = Ipam(NET("10.244.1.0/24"), tmp_path)
    first.allocate("uid-a")
    first.allocate("uid-b")
    first.release("uid-a")

    again = Ipam(NET("10.244.1.0/24"), tmp_path)
    assert again.get("uid-b") == IP("10.244.1.3")
    assert again.get("uid-a") is None
    assert again.allocate("uid-c") == IP("10.244.1.4")  # not the just-freed .2


def test_release_frees_the_address_and_forgets_the_pod(tmp_path: Path) -> None:
    ipam = Ipam(NET("10.250.0.0/30"), tmp_path)
    address = ipam.allocate("uid-a")
    assert ipam.release("uid-a") == address
    assert ipam.release("uid-a") is None
    assert not (tmp_path / str(address)).exists()
    assert ipam.allocate("uid-b") == address


def test_a_full_range_is_refused_with_what_to_do(tmp_path: Path) -> None:
    ipam = Ipam(NET("10.250.0.0/29"), tmp_path)
    for n in range(5):
        ipam.allocate(f"uid-{n}")
    with pytest.raises(RangeFull, match=r"no free pod IP address left in 10\.250\.0\.0/29 \(5 in use\)"):
        ipam.allocate("uid-6")
    assert ipam.get("uid-6") is None
    assert ipam.allocate("uid-0") == IP("10.250.0.2")  # those who have one still get it


def test_files_of_another_cidr_and_torn_files_are_not_allocations(tmp_path: Path) -> None:
    (tmp_path / "10.244.9.2").write_text("uid-elsewhere")
    (tmp_path / "10.244.1.2").write_text("")  # crash between create and write
    (tmp_path / ".last_reserved_ip.tmp").write_text("junk")
    ipam = Ipam(NET("10.244.1.0/24"), tmp_path)
    assert ipam.owners() == {}
    assert not (tmp_path / "10.244.1.2").exists()
    assert ipam.allocate("uid-a") == IP("10.244.1.2")


def test_release_all_empties_the_store(tmp_path: Path) -> None:
    ipam = Ipam(NET("10.244.1.0/24"), tmp_path)
    ipam.allocate("uid-a")
    ipam.allocate("uid-b")
    ipam.release_all()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_threads_allocating_at_once_get_distinct_addresses_that_survive_a_restart(tmp_path: Path) -> None:
    ipam = Ipam(NET("10.244.1.0/24"), tmp_path)
    uids = [f"pod-{n}" for n in range(60)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        addresses = list(pool.map(ipam.allocate, uids))
    assert len(set(addresses)) == len(uids)
    assert Ipam(NET("10.244.1.0/24"), tmp_path).owners() == dict(zip(addresses, uids, strict=True))
