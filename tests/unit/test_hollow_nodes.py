"""Hollow nodes, the pure parts: the Node they register, their pod addresses, the status that says a
pod runs, and the even spread of their periodic writes."""

from __future__ import annotations

import ipaddress
import re

import pytest

from controlplane.daemon import ConfigError
from controlplane.hollow.config import HollowConfig, from_args
from controlplane.hollow.nodes import hollow_node, node_ip, node_lease, pod_cidr
from controlplane.hollow.podstatus import PodAddresses, is_running_here, running_status
from controlplane.hollow.schedule import LEASE, STATUS, Timetable
from tests.support.scheduling import pod

NOW = "2024-05-01T12:00:00Z"


def test_node_i_has_its_own_address_pod_range_and_ready_conditions() -> None:
    config = HollowConfig(count=300, cpu="8", memory="32Gi", max_pods=110, labels=(("zone", "a"),))
    node = hollow_node(config, 257, NOW)
    assert node.metadata.name == "hollow-257"
    assert node.metadata.labels["kubernetes.io/hostname"] == "hollow-257" and node.metadata.labels["zone"] == "a"
    assert node.spec.pod_cidr == "10.129.1.0/24" == str(pod_cidr(config, 257))
    assert [(a.type, a.address) for a in node.status.addresses] == [("InternalIP", "127.128.1.2"),
                                                                     ("Hostname", "hollow-257")]
    assert node_ip(config, 0) == "127.128.0.1"
    assert {k: v.string for k, v in node.status.allocatable.items()} == {"cpu": "8", "memory": "32Gi", "pods": "110"}
    ready = next(c for c in node.status.conditions if c.type == "Ready")
    assert (ready.status, ready.reason, ready.last_heartbeat_time) == ("True", "KubeletReady", NOW)
    lease = node_lease(config, node, NOW)
    assert (lease.metadata.namespace, lease.spec.holder_identity, lease.spec.lease_duration_seconds,
            lease.spec.renew_time) == ("kube-node-lease", "hollow-257", 40, NOW)


def test_pod_addresses_go_lowest_first_are_kept_per_pod_and_come_back() -> None:
    addresses = PodAddresses(ipaddress.IPv4Network("10.128.3.0/24"))
    assert [addresses.assign(uid) for uid in ("a", "b", "c")] == ["10.128.3.2", "10.128.3.3", "10.128.3.4"]
    assert addresses.assign("a") == "10.128.3.2"
    addresses.release("b")
    assert addresses.assign("d") == "10.128.3.3"
    assert addresses.assign("e", wanted="10.128.3.200") == "10.128.3.200"  # kept across a restart
    assert addresses.assign("f", wanted="10.128.3.2") == "10.128.3.5"  # taken: the next free one
    for uid in range(248):
        addresses.assign(f"fill-{uid}")
    with pytest.raises(ValueError, match=re.escape("no pod address left in 10.128.3.0/24")):
        addresses.assign("one-too-many")


def test_a_pod_on_a_hollow_node_runs_ready_with_every_container_started() -> None:
    bound = pod("web", node_name="hollow-0", spec={"initContainers": [{"name": "setup", "image": "busybox"}]},
                containers=[{"name": "app", "image": "nginx"}, {"name": "log", "image": "busybox"}])
    status = running_status(bound, "10.128.0.2", "127.128.0.1", 1714564800.0)
    assert (status.phase, status.pod_ip, status.host_ip, status.start_time) == (
        "Running", "10.128.0.2", "127.128.0.1", "2024-05-01T12:00:00Z")
    assert {c.type: c.status for c in status.conditions} == {
        "PodReadyToStartContainers": "True", "Initialized": "True", "Ready": "True", "ContainersReady": "True",
        "PodScheduled": "True"}
    assert [(s.name, s.ready, bool(s.state.running.started_at)) for s in status.container_statuses] == [
        ("app", True, True), ("log", True, True)]
    assert status.init_container_statuses[0].state.terminated.reason == "Completed"
    bound.status.CopyFrom(status)
    assert is_running_here(bound, "10.128.0.2") and not is_running_here(bound, "10.128.0.3")


def test_periodic_writes_are_spread_evenly_and_booked_again() -> None:
    table = Timetable(4, {LEASE: 10.0, STATUS: 100.0}, start=0.0)
    assert [(d.kind, d.index, d.at) for d in table.take_due(7.5)] == [
        (LEASE, 0, 0.0), (STATUS, 0, 0.0), (LEASE, 1, 2.5), (LEASE, 2, 5.0), (LEASE, 3, 7.5)]
    assert table.next_at() == 10.0
    assert [(d.kind, d.index) for d in table.take_due(10.0)] == [(LEASE, 0)]
    # Far behind: booked one interval from now, not due again at once.
    assert [d.index for d in table.take_due(60.0) if d.kind == LEASE] == [1, 2, 3, 0]
    assert table.next_at() == 70.0


@pytest.mark.parametrize(("argv", "message"), [
    (["--count", "0"], "--count must be at least 1"),
    (["--cpu", "eight"], "--cpu 'eight': quantities must match"),
    (["--max-pods", "300"], "--max-pods must be between 1 and 253"),
    (["--count", "300", "--pod-cidr-range", "10.0.0.0/16"], "--pod-cidr-range 10.0.0.0/16: fewer than 300 /24s"),
    (["--node-ip-range", "127.0.0.0/30", "--count", "5"], "--node-ip-range 127.0.0.0/30: too small for 5 nodes"),
    (["--lease-renew-interval", "50"], "--lease-renew-interval must be shorter than --lease-duration"),
    (["--node-labels", "zone"], "--node-labels 'zone': expected KEY=VALUE"),
])
def test_bad_settings_are_refused_in_one_line(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_args(argv)
