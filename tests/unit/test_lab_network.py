"""The lab's network steps, as the `ip` commands they run (a recording runner stands in for `ip`)."""

from __future__ import annotations

import ipaddress
import json

from controlplane.lab import network
from controlplane.lab.ip import Result, Runner
from controlplane.lab.plan import plan_lab


class RecordingRunner(Runner):
    def __init__(self, answers: dict[tuple[str, ...], str] | None = None) -> None:
        self.commands: list[str] = []
        self.answers = answers or {}

    async def run(self, *argv: str, check: bool = True) -> Result:
        self.commands.append(" ".join(argv))
        return Result(tuple(argv), 0, self.answers.get(tuple(argv), ""), "")


async def test_a_node_is_a_netns_with_a_veth_on_the_bridge_a_default_route_and_forwarding() -> None:
    plan = plan_lab("klt1", ipaddress.IPv4Network("10.247.3.0/24"), 1)
    ip = RecordingRunner()
    await network.build(ip, plan)
    assert ip.commands == [
        "ip link add klt1-br0 type bridge",
        "ip addr add 10.247.3.1/24 dev klt1-br0",
        "ip link set klt1-br0 up",
        "ip netns add klt1-master",
        "ip -n klt1-master link set lo up",
        "ip link add klt1-m type veth peer name eth0 netns klt1-master",
        "ip link set klt1-m master klt1-br0",
        "ip link set klt1-m up",
        "ip -n klt1-master addr add 10.247.3.10/24 dev eth0",
        "ip -n klt1-master link set eth0 up",
        "ip -n klt1-master route add default via 10.247.3.1 dev eth0",
        "ip netns exec klt1-master sysctl -qw net.ipv4.ip_forward=1",
        "ip netns add klt1-worker1",
        "ip -n klt1-worker1 link set lo up",
        "ip link add klt1-w1 type veth peer name eth0 netns klt1-worker1",
        "ip link set klt1-w1 master klt1-br0",
        "ip link set klt1-w1 up",
        "ip -n klt1-worker1 addr add 10.247.3.11/24 dev eth0",
        "ip -n klt1-worker1 link set eth0 up",
        "ip -n klt1-worker1 route add default via 10.247.3.1 dev eth0",
        "ip netns exec klt1-worker1 sysctl -qw net.ipv4.ip_forward=1",
        "ip -n klt1-master route replace 10.244.1.0/24 via 10.247.3.11 dev eth0",
        "ip -n klt1-worker1 route replace 10.244.0.0/24 via 10.247.3.10 dev eth0",
    ]


async def test_the_labs_namespaces_and_links_are_found_by_name() -> None:
    ip = RecordingRunner({
        ("ip", "-j", "netns", "list"): json.dumps([{"name": "kl-master"}, {"name": "klt1-master", "id": 0},
                                                   {"name": "kl-worker1-deadbeef0000"}]),
        ("ip", "-j", "link", "show"): json.dumps([{"ifname": "lo"}, {"ifname": "eth0"}, {"ifname": "kl-br0"},
                                                  {"ifname": "kl-w1"}, {"ifname": "klt1-br0"}]),
    })
    assert await network.lab_netns(ip, "kl") == ["kl-master", "kl-worker1-deadbeef0000"]
    assert await network.lab_links(ip, "kl") == ["kl-br0", "kl-w1"]


async def test_no_namespaces_at_all_is_an_empty_list() -> None:
    assert await network.lab_netns(RecordingRunner(), "kl") == []


async def test_a_subnet_already_routed_here_is_noticed() -> None:
    ip = RecordingRunner({("ip", "-j", "-4", "route", "show"): json.dumps([
        {"dst": "default", "gateway": "172.16.0.1", "dev": "eth0"},
        {"dst": "172.16.0.0/16", "dev": "eth0"},
        {"dst": "10.241.0.0/24", "dev": "klt9-br0"},
    ])})
    assert await network.routes_into(ip, ipaddress.IPv4Network("10.241.0.0/24")) == ["10.241.0.0/24 dev klt9-br0"]
    assert await network.routes_into(ip, ipaddress.IPv4Network("10.240.0.0/24")) == []
