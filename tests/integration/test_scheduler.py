"""The scheduler against a real API server, with hollow nodes standing in for kubelets: pods are
bound and run, spread, kept off tainted nodes, and a pod that fits nowhere says why, waits without
being retried in a loop, and is bound as soon as a node is added or room is made."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from controlplane.api import codec, kinds
from controlplane.api.v1 import core_pb2
from controlplane.client import ApiClient
from tests.support.daemon import ApiServerProcess, DaemonProcess, hollow_nodes, scheduler
from tests.support.scheduling import pod
from tests.support.wait import eventually

POD = kinds.by_kind("Pod")
NODE = kinds.by_kind("Node")
EVENT = kinds.by_kind("Event")
LEASE = kinds.by_kind("Lease")
# Back-off scaled down (kube-scheduler: 1 s, 10 s); the unschedulable flush left at its 5 minutes.
SCHEDULER_FLAGS = ("--pod-initial-backoff", "0.2", "--pod-max-backoff", "1", "--stats-interval", "0.5")


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[DaemonProcess]]:
    started: list[DaemonProcess] = []
    yield started
    for process in reversed(started):
        process.kill()


def start(processes: list[DaemonProcess], process: DaemonProcess) -> DaemonProcess:
    processes.append(process)
    return process.start()


async def create_pod(api: ApiClient, name: str, **kwargs: Any) -> None:
    made = pod(name, **kwargs)
    made.metadata.ClearField("uid")
    await api.create(made)


async def get_pod(api: ApiClient, name: str) -> core_pb2.Pod:
    found = await api.get(POD, "default", name)
    assert isinstance(found, core_pb2.Pod)
    return found


async def wait_running(api: ApiClient, name: str, timeout: float = 30) -> core_pb2.Pod:
    async def running() -> core_pb2.Pod | None:
        found = await get_pod(api, name)
        return found if found.status.phase == "Running" else None
    return await eventually(running, timeout=timeout, what=f"pod {name} to run")


async def events_of(api: ApiClient, name: str, reason: str) -> list[core_pb2.Event]:
    items, _ = await api.list(EVENT, "default")
    return [e for e in items if isinstance(e, core_pb2.Event) and e.involved_object.name == name
            and e.reason == reason]


def scheduled_condition(found: core_pb2.Pod) -> tuple[str, str, str]:
    condition = next(c for c in found.status.conditions if c.type == "PodScheduled")
    return condition.status, condition.reason, condition.message


async def test_pods_are_bound_to_hollow_nodes_run_there_and_say_so(
        apiserver: ApiServerProcess, api: ApiClient, processes: list[DaemonProcess], tmp_path: Path) -> None:
    start(processes, hollow_nodes(apiserver.address, tmp_path, 3))
    start(processes, scheduler(apiserver.address, tmp_path, *SCHEDULER_FLAGS))
    await create_pod(api, "web", cpu="500m", memory="128Mi")
    running = await wait_running(api, "web")
    assert running.spec.node_name in {"hollow-0", "hollow-1", "hollow-2"}
    assert scheduled_condition(running) == ("True", "", "")
    assert running.status.pod_ip.startswith("10.128.") and running.status.container_statuses[0].ready
    [event] = await events_of(api, "web", "Scheduled")
    assert (event.type, event.message, event.source.component) == (
        "Normal", f"Successfully assigned default/web to {running.spec.node_name}", "default-scheduler")
    leases, _ = await api.list(LEASE, "kube-node-lease")
    assert {lease.metadata.name for lease in leases} >= {"hollow-0"}  # type: ignore[attr-defined]


async def test_pods_selected_by_a_service_spread_evenly(
        apiserver: ApiServerProcess, api: ApiClient, processes: list[DaemonProcess], tmp_path: Path) -> None:
    start(processes, hollow_nodes(apiserver.address, tmp_path, 3))
    start(processes, scheduler(apiserver.address, tmp_path, *SCHEDULER_FLAGS))
    await api.create(codec.decode_object({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                                          "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}))
    for i in range(9):
        await create_pod(api, f"web-{i}", cpu="100m", labels={"app": "web"})
    placed = Counter()
    for i in range(9):
        placed[(await wait_running(api, f"web-{i}")).spec.node_name] += 1
    assert placed == {"hollow-0": 3, "hollow-1": 3, "hollow-2": 3}


async def test_a_tainted_node_gets_only_pods_that_tolerate_it(
        apiserver: ApiServerProcess, api: ApiClient, processes: list[DaemonProcess], tmp_path: Path) -> None:
    start(processes, hollow_nodes(apiserver.address, tmp_path, 2))
    node = await api.get(NODE, "", "hollow-0")
    node.spec.taints.add(key="dedicated", value="db", effect="NoSchedule")  # type: ignore[attr-defined]
    await api.update(node)
    start(processes, scheduler(apiserver.address, tmp_path, *SCHEDULER_FLAGS))
    for i in range(4):
        await create_pod(api, f"app-{i}")
    pinned = {"nodeSelector": {"kubernetes.io/hostname": "hollow-0"}}
    await create_pod(api, "db", spec={**pinned, "tolerations": [{"key": "dedicated", "operator": "Equal",
                                                                 "value": "db", "effect": "NoSchedule"}]})
    await create_pod(api, "stray", spec=pinned)
    assert {(await wait_running(api, f"app-{i}")).spec.node_name for i in range(4)} == {"hollow-1"}
    assert (await wait_running(api, "db")).spec.node_name == "hollow-0"

    async def refused() -> tuple[str, str, str] | None:
        found = await get_pod(api, "stray")
        return scheduled_condition(found) if found.status.conditions else None
    assert await eventually(refused, timeout=20, what="stray to be refused") == (
        "False", "Unschedulable", "0/2 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, "
        "1 node(s) had untolerated taint {dedicated: db}.")


async def test_a_pod_too_big_waits_without_busy_retries_and_binds_when_a_node_is_added(
        apiserver: ApiServerProcess, api: ApiClient, processes: list[DaemonProcess], tmp_path: Path) -> None:
    # Leases and statuses every second: node writes that must not wake the waiting pod.
    start(processes, hollow_nodes(apiserver.address, tmp_path, 2, "--cpu", "1", "--lease-renew-interval", "0.5",
                                  "--lease-duration", "5", "--node-status-interval", "1"))
    sched = start(processes, scheduler(apiserver.address, tmp_path, *SCHEDULER_FLAGS))
    await create_pod(api, "big", cpu="2")
    message = "0/2 nodes are available: 2 Insufficient cpu."

    async def failed() -> list[core_pb2.Event]:
        return await events_of(api, "big", "FailedScheduling")
    [event] = await eventually(failed, timeout=20, what="a FailedScheduling event")
    assert (event.type, event.message, event.source.component) == ("Warning", message, "default-scheduler")
    assert scheduled_condition(await get_pod(api, "big")) == ("False", "Unschedulable", message)
    await asyncio.sleep(4)  # eight lease renewals and four status posts per node meanwhile
    [event] = await events_of(api, "big", "FailedScheduling")
    attempts = [e["attempts"] for e in sched.events("scheduler.stats")]
    assert event.count == 1 and attempts[-1] == 1, (event.count, attempts)

    start(processes, hollow_nodes(apiserver.address, tmp_path, 1, "--name-prefix", "large-", "--cpu", "4",
                                  "--node-ip-range", "127.200.0.0/24", "--pod-cidr-range", "10.200.0.0/16",
                                  name="large"))
    bound = await wait_running(api, "big")
    assert bound.spec.node_name == "large-0"
    assert scheduled_condition(bound)[0] == "True"


async def test_a_waiting_pod_binds_once_a_pod_is_deleted_and_gone(
        apiserver: ApiServerProcess, api: ApiClient, processes: list[DaemonProcess], tmp_path: Path) -> None:
    start(processes, hollow_nodes(apiserver.address, tmp_path, 1, "--cpu", "1"))
    start(processes, scheduler(apiserver.address, tmp_path, *SCHEDULER_FLAGS))
    await create_pod(api, "first", cpu="800m")
    await wait_running(api, "first")
    await create_pod(api, "second", cpu="800m")

    async def refused() -> list[core_pb2.Event]:
        return await events_of(api, "second", "FailedScheduling")
    [event] = await eventually(refused, timeout=20, what="second to be refused")
    assert event.message == "0/1 nodes are available: 1 Insufficient cpu."
    await api.delete(POD, "default", "first")  # graceful: the hollow node finalizes it
    assert (await wait_running(api, "second")).spec.node_name == "hollow-0"
    with pytest.raises(Exception, match="not found"):
        await get_pod(api, "first")


async def test_host_ports_and_node_selectors_are_honoured(
        apiserver: ApiServerProcess, api: ApiClient, processes: list[DaemonProcess], tmp_path: Path) -> None:
    start(processes, hollow_nodes(apiserver.address, tmp_path, 2))
    start(processes, scheduler(apiserver.address, tmp_path, *SCHEDULER_FLAGS))
    with_port = [{"name": "web", "image": "nginx", "ports": [{"containerPort": 80, "hostPort": 8080}]}]
    for i in range(3):
        await create_pod(api, f"edge-{i}", containers=with_port)
    nodes = {(await wait_running(api, f"edge-{i}")).spec.node_name for i in range(2)}
    assert nodes == {"hollow-0", "hollow-1"}

    async def refused() -> list[core_pb2.Event]:
        return await events_of(api, "edge-2", "FailedScheduling")
    [event] = await eventually(refused, timeout=20, what="the third to be refused")
    assert event.message == ("0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod "
                             "ports.")
