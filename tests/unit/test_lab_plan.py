"""The lab's address plan and names, from the prefix, subnet and worker count."""

from __future__ import annotations

import ipaddress

import pytest

from controlplane.lab.plan import IFNAMSIZ, MAX_WORKERS, PlanError, plan_lab

NET = ipaddress.IPv4Network


def test_default_lab_matches_the_design() -> None:
    plan = plan_lab()
    assert plan.prefix == "kl" and plan.bridge == "kl-br0" and str(plan.host_ip) == "10.240.0.1"
    assert [(n.name, n.role, str(n.ip), str(n.pod_cidr), n.netns) for n in plan.nodes] == [
        ("master", "master", "10.240.0.10", "10.244.0.0/24", "kl-master"),
        ("worker1", "worker", "10.240.0.11", "10.244.1.0/24", "kl-worker1"),
        ("worker2", "worker", "10.240.0.12", "10.244.2.0/24", "kl-worker2"),
    ]
    assert plan.api_address == "10.240.0.10:6443"
    assert plan.master.cgroup_parent == "kubelab-kl-master"
    assert [n.host_veth for n in plan.nodes] == ["kl-m", "kl-w1", "kl-w2"]


@pytest.mark.parametrize(("subnet", "workers", "host", "master", "last"), [
    ("10.241.3.0/24", 2, "10.241.3.1", "10.241.3.10", "10.241.3.12"),
    ("10.250.255.0/24", 0, "10.250.255.1", "10.250.255.10", "10.250.255.10"),
    ("192.168.56.0/24", 9, "192.168.56.1", "192.168.56.10", "192.168.56.19"),
    ("10.242.0.0/27", 20, "10.242.0.1", "10.242.0.10", "10.242.0.30"),
])
def test_addresses_follow_the_subnet(subnet: str, workers: int, host: str, master: str, last: str) -> None:
    plan = plan_lab("kl", NET(subnet), workers)
    assert (str(plan.host_ip), str(plan.master.ip), str(plan.nodes[-1].ip)) == (host, master, last)
    assert len(plan.workers) == workers


def test_each_node_routes_to_the_other_nodes_pod_cidrs() -> None:
    plan = plan_lab("kl", NET("10.240.0.0/24"), 2)
    routes = {node.name: [(str(c), str(v)) for c, v in plan.pod_routes(node)] for node in plan.nodes}
    assert routes == {
        "master": [("10.244.1.0/24", "10.240.0.11"), ("10.244.2.0/24", "10.240.0.12")],
        "worker1": [("10.244.0.0/24", "10.240.0.10"), ("10.244.2.0/24", "10.240.0.12")],
        "worker2": [("10.244.0.0/24", "10.240.0.10"), ("10.244.1.0/24", "10.240.0.11")],
    }


@pytest.mark.parametrize("prefix", ["k", "kl", "klt3f9a0c", "lab2"])
@pytest.mark.parametrize("workers", [0, 1, 2, 9, MAX_WORKERS])
def test_interface_names_fit_the_kernel_and_are_distinct(prefix: str, workers: int) -> None:
    plan = plan_lab(prefix, NET("10.240.0.0/24"), workers)
    names = [plan.bridge, *(n.host_veth for n in plan.nodes)]
    assert all(len(name) <= IFNAMSIZ for name in [*names, plan.master.pod_bridge])
    assert len(set(names)) == len(names)
    assert all(name.startswith(f"{prefix}-") for name in names)


@pytest.mark.parametrize(("prefix", "subnet", "workers", "message"), [
    ("kl-x", "10.240.0.0/24", 2, "--prefix 'kl-x': expected 1-9 lowercase letters or digits"),
    ("KL", "10.240.0.0/24", 2, "--prefix 'KL'"),
    ("2kl", "10.240.0.0/24", 2, "--prefix '2kl'"),
    ("klt1234567", "10.240.0.0/24", 2, "--prefix 'klt1234567'"),
    ("", "10.240.0.0/24", 2, "--prefix ''"),
    ("kl", "10.240.0.0/24", -1, "--workers -1: expected 0 to 99"),
    ("kl", "10.240.0.0/24", 100, "--workers 100"),
    ("kl", "10.240.0.0/28", 5, "--subnet 10.240.0.0/28: too small for a master and 5 workers"),
    ("kl", "10.244.0.0/24", 2, "--subnet 10.244.0.0/24: overlaps the pod network 10.244.0.0/16"),
    ("kl", "10.96.0.0/24", 2, "--subnet 10.96.0.0/24: overlaps the service network 10.96.0.0/12"),
])
def test_bad_plans_are_refused_with_the_flag_named(prefix: str, subnet: str, workers: int, message: str) -> None:
    with pytest.raises(PlanError) as raised:
        plan_lab(prefix, NET(subnet), workers)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)
