"""Node lifecycle and taint-based eviction with a real API server and a real controller manager.

The test plays the nodes through the API, as an agent would: it registers Nodes with a Ready
condition, renews their Leases in kube-node-lease, and stops renewing one to make it silent."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from controlplane.api import codec, kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.timestamps import epoch, format_time
from controlplane.api.v1 import core_pb2
from controlplane.client import ApiClient
from controlplane.client.api import modify
from controlplane.client.informer import InformerSet
from controlplane.controllermanager.config import ControllerManagerConfig, NodeLifecycleSettings
from controlplane.controllers.base import ControllerContext
from controlplane.controllers.nodelifecycle.controller import NodeLifecycleController
from controlplane.controllers.nodelifecycle.health import Verdict, WitnessVerdict
from tests.support.daemon import ApiServerProcess, DaemonProcess
from tests.support.wait import eventually

NODE = kinds.by_kind("Node")
POD = kinds.by_kind("Pod")
LEASE = kinds.by_kind("Lease")
EVENT = kinds.by_kind("Event")
UNREACHABLE = "node.kubernetes.io/unreachable"
GRACE = 3
TOLERATION = 4


def now_text() -> str:
    return format_time(datetime.now(UTC))


class PlayedNodes:
    """Nodes played through the API: each registered one has its Lease renewed every half second
    while it is in `alive`."""

    def __init__(self, api: ApiClient) -> None:
        self.api = api
        self.alive: set[str] = set()

    async def register(self, name: str) -> None:
        stamp = now_text()
        node = codec.decode_object({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}})
        node.status.conditions.extend(self._conditions(stamp))
        await self.api.create(node)
        lease = codec.decode_object({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                                     "metadata": {"name": name, "namespace": "kube-node-lease"},
                                     "spec": {"holderIdentity": name, "leaseDurationSeconds": 40,
                                              "renewTime": stamp}})
        await self.api.create(lease)
        self.alive.add(name)

    @staticmethod
    def _conditions(stamp: str) -> list[Any]:
        return [codec.decode_object({"apiVersion": "v1", "kind": "Node", "status": {"conditions": [
            {"type": kind, "status": status, "reason": reason, "lastHeartbeatTime": stamp,
             "lastTransitionTime": stamp}]}}).status.conditions[0]
            for kind, status, reason in (("MemoryPressure", "False", "KubeletHasSufficientMemory"),
                                         ("DiskPressure", "False", "KubeletHasNoDiskPressure"),
                                         ("PIDPressure", "False", "KubeletHasSufficientPID"),
                                         ("Ready", "True", "KubeletReady"))]

    async def post_ready(self, name: str) -> None:
        """The agent is back: it posts Ready True again."""
        stamp = now_text()

        def ready(node: Any) -> None:
            del node.status.conditions[:]
            node.status.conditions.extend(self._conditions(stamp))

        await modify(self.api, NODE, "", name, ready, status=True)

    async def heartbeats(self) -> None:
        while True:
            for name in sorted(self.alive):
                def renew(lease: Any) -> None:
                    lease.spec.renew_time = now_text()

                await modify(self.api, LEASE, "kube-node-lease", name, renew)
            await asyncio.sleep(0.5)


@contextlib.asynccontextmanager
async def heartbeating(nodes: PlayedNodes) -> AsyncIterator[PlayedNodes]:
    task = asyncio.create_task(nodes.heartbeats())
    try:
        yield nodes
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
def apiserver_args() -> list[str]:
    return ["--default-not-ready-toleration-seconds", str(TOLERATION),
            "--default-unreachable-toleration-seconds", str(TOLERATION)]


@pytest.fixture
def controller_manager_args() -> list[str]:
    return ["--controllers", "nodelifecycle,taint-eviction-controller", "--node-monitor-period", "0.5",
            "--node-monitor-grace-period", str(GRACE), "--node-startup-grace-period", str(GRACE)]


@pytest.fixture
def api(api: ApiClient, controller_manager: DaemonProcess) -> ApiClient:
    """The client, with the controller manager running (the witness test runs its own controller on
    `apiserver` instead)."""
    return api


async def bound_pod(api: ApiClient, name: str, node: str, tolerations: list[dict[str, Any]] | None = None) -> Any:
    """A pod on `node`, Running and Ready as its agent would report it."""
    await api.create(codec.decode_object({
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
        "spec": {"nodeName": node, "containers": [{"name": "web", "image": "nginx"}],
                 "tolerations": tolerations or []}}))
    stamp = now_text()

    def running(pod: Any) -> None:
        pod.status.phase = "Running"
        for kind in ("Initialized", "Ready", "ContainersReady", "PodScheduled"):
            pod.status.conditions.add(type=kind, status="True", last_transition_time=stamp)

    return await modify(api, POD, "default", name, running, status=True)


async def node(api: ApiClient, name: str) -> core_pb2.Node:
    found = await api.get(NODE, "", name)
    assert isinstance(found, core_pb2.Node)
    return found


def conditions(obj: Any) -> dict[str, Any]:
    return {c.type: c for c in obj.status.conditions}


def taints(found: core_pb2.Node) -> set[tuple[str, str]]:
    return {(t.key, t.effect) for t in found.spec.taints}


async def events(api: ApiClient, name: str) -> list[tuple[str, str, str]]:
    items, _ = await api.list(EVENT, "default", field_selector=f"involvedObject.name={name}")
    return [(e.type, e.reason, e.message) for e in items]  # type: ignore[attr-defined]


async def until(check: Callable[[], Any], what: str, timeout: float = 30) -> Any:
    return await eventually(check, timeout=timeout, what=what)


async def test_a_silent_node_turns_unknown_is_tainted_and_its_pods_leave_after_their_toleration(
        api: ApiClient) -> None:
    nodes = PlayedNodes(api)
    await nodes.register("steady")
    await nodes.register("doomed")
    async with heartbeating(nodes):
        await bound_pod(api, "web-x", "doomed")
        await bound_pod(api, "patient", "doomed", [{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}])
        await bound_pod(api, "elsewhere", "steady")
        await asyncio.sleep(GRACE + 1)  # heartbeats keep both nodes Ready past a grace period
        assert conditions(await node(api, "doomed"))["Ready"].status == "True"

        nodes.alive.discard("doomed")  # its agent dies

        async def unknown() -> Any:
            return conditions(await node(api, "doomed"))["Ready"].status == "Unknown"

        await until(unknown, "the silent node to turn Unknown")
        doomed = await node(api, "doomed")
        for kind in ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure"):
            condition = conditions(doomed)[kind]
            assert (condition.status, condition.reason, condition.message) == (
                "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")

        async def tainted() -> Any:
            found = await node(api, "doomed")
            return found if taints(found) >= {(UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")} else None

        doomed = await until(tainted, "the unreachable taints")
        taint_added = next(epoch(t.time_added) for t in doomed.spec.taints if t.effect == "NoExecute")
        assert taint_added is not None
        pod = await api.get(POD, "default", "web-x")
        assert not pod.metadata.deletion_timestamp, "evicted before its toleration ran out"  # type: ignore[attr-defined]
        assert ("Normal", "NodeNotReady", "Node doomed status is now: NodeNotReady") in await events(api, "doomed")

        async def pods_not_ready() -> bool:
            for name in ("web-x", "patient"):
                if conditions(await api.get(POD, "default", name))["Ready"].status != "False":
                    return False
            return ("Warning", "NodeNotReady", "Node is not ready") in await events(api, "web-x")

        await until(pods_not_ready, "the doomed node's pods to be marked not ready")

        async def evicted() -> Any:
            found = await api.get(POD, "default", "web-x")
            return found if found.metadata.deletion_timestamp else None  # type: ignore[attr-defined]

        web = await until(evicted, "web-x to be evicted after its toleration")
        assert time.time() >= taint_added + TOLERATION - 1  # timeAdded has whole seconds
        eviction = ("Normal", "TaintManagerEviction", "Marking for deletion Pod default/web-x")
        assert eviction in await events(api, "web-x")
        target = conditions(web)["DisruptionTarget"]
        assert (target.status, target.reason) == ("True", "DeletionByTaintManager")
        patient = await api.get(POD, "default", "patient")
        assert not patient.metadata.deletion_timestamp  # type: ignore[attr-defined]  # tolerates for good
        assert conditions(await api.get(POD, "default", "elsewhere"))["Ready"].status == "True"
        assert taints(await node(api, "steady")) == set()

        # the agent comes back
        nodes.alive.add("doomed")
        await nodes.post_ready("doomed")

        async def untainted() -> bool:
            return taints(await node(api, "doomed")) == set()

        await until(untainted, "the taints to go when the node is back")


async def test_an_untolerated_noexecute_taint_evicts_at_once_and_a_removed_one_cancels(api: ApiClient) -> None:
    nodes = PlayedNodes(api)
    await nodes.register("infra")
    await nodes.register("other")
    async with heartbeating(nodes):
        await bound_pod(api, "guest", "infra")
        await bound_pod(api, "resident", "infra", [{"key": "dedicated", "operator": "Equal", "value": "infra",
                                                     "effect": "NoExecute"}])
        await bound_pod(api, "visitor", "infra", [{"key": "dedicated", "operator": "Exists", "effect": "NoExecute",
                                                    "tolerationSeconds": 60}])

        def add_taint(found: Any) -> None:
            found.spec.taints.add(key="dedicated", value="infra", effect="NoExecute", time_added=now_text())

        await modify(api, NODE, "", "infra", add_taint)

        async def guest_evicted() -> bool:
            return bool((await api.get(POD, "default", "guest")).metadata.deletion_timestamp)  # type: ignore[attr-defined]

        await until(guest_evicted, "the pod that does not tolerate the taint to be evicted at once", timeout=10)
        assert not (await api.get(POD, "default", "resident")).metadata.deletion_timestamp  # type: ignore[attr-defined]

        def remove_taint(found: Any) -> None:
            kept = [t for t in found.spec.taints if t.key != "dedicated"]
            del found.spec.taints[:]
            found.spec.taints.extend(kept)

        await asyncio.sleep(1)  # the visitor's eviction is planned meanwhile
        await modify(api, NODE, "", "infra", remove_taint)

        async def cancelled() -> bool:
            return ("Normal", "TaintManagerEviction", "Cancelling deletion of Pod default/visitor") in await events(
                api, "visitor")

        await until(cancelled, "the planned eviction of the visitor to be cancelled")
        assert not (await api.get(POD, "default", "visitor")).metadata.deletion_timestamp  # type: ignore[attr-defined]


async def test_when_every_node_goes_silent_no_node_is_tainted_noexecute(api: ApiClient) -> None:
    nodes = PlayedNodes(api)
    await nodes.register("one")
    await nodes.register("two")
    async with heartbeating(nodes):
        await bound_pod(api, "web", "two")
        await asyncio.sleep(1)
        nodes.alive.clear()  # the control plane is cut off from every node: most likely its own fault

        async def both_unreachable_noschedule() -> bool:
            found = [await node(api, name) for name in ("one", "two")]
            return all(conditions(n)["Ready"].status == "Unknown" and (UNREACHABLE, "NoSchedule") in taints(n)
                       for n in found)

        await until(both_unreachable_noschedule, "both nodes to be Unknown and unschedulable")
        await asyncio.sleep(2)  # four monitor periods
        for name in ("one", "two"):
            assert (UNREACHABLE, "NoExecute") not in taints(await node(api, name))
        assert not (await api.get(POD, "default", "web")).metadata.deletion_timestamp  # type: ignore[attr-defined]

        # one node is heard from again: the other is judged afresh, and tainted once its grace is over
        nodes.alive.add("one")
        await nodes.post_ready("one")

        async def two_tainted() -> bool:
            return (UNREACHABLE, "NoExecute") in taints(await node(api, "two"))

        await until(two_tainted, "the node still silent to be tainted once another is back")
        assert taints(await node(api, "one")) == set()


class ScriptedWitness:
    """A second witness whose verdicts the test sets, standing where the gossip cluster will plug in."""

    def __init__(self) -> None:
        self.verdicts: dict[str, tuple[Verdict, float]] = {}
        self.listeners: list[Callable[[str], None]] = []

    def say(self, node_name: str, verdict: Verdict) -> None:
        self.verdicts[node_name] = (verdict, asyncio.get_running_loop().time())
        for listener in self.listeners:
            listener(node_name)

    def verdict(self, node_name: str) -> WitnessVerdict | None:
        found = self.verdicts.get(node_name)
        if found is None:
            return None
        return WitnessVerdict(found[0], asyncio.get_running_loop().time() - found[1])

    def subscribe(self, changed: Callable[[str], None]) -> None:
        self.listeners.append(changed)

    async def run(self) -> None:
        return None


async def test_a_witness_confirming_death_beats_the_grace_period_and_one_saying_alive_changes_nothing(
        apiserver: ApiServerProcess) -> None:
    async with apiserver.client() as api:
        nodes = PlayedNodes(api)
        for name in ("dead", "cut-off", "fine"):
            await nodes.register(name)
        config = ControllerManagerConfig(node_lifecycle=NodeLifecycleSettings(
            node_monitor_period=0.5, node_monitor_grace_period=20))
        informers = InformerSet(api)
        witness = ScriptedWitness()
        controller = NodeLifecycleController(ControllerContext(api, informers, config), witness=witness)
        async with heartbeating(nodes), asyncio.TaskGroup() as group:
            tasks = [group.create_task(informers.run())]
            await informers.wait_synced()
            tasks.append(group.create_task(controller.run()))
            await asyncio.sleep(1)
            nodes.alive -= {"dead", "cut-off"}
            await asyncio.sleep(1)  # its peers take a moment to confirm a death
            witness.say("dead", Verdict.DEAD)
            witness.say("cut-off", Verdict.ALIVE)  # its peers hear it; the master does not
            silenced = time.monotonic()

            async def dead_unknown() -> bool:
                return conditions(await node(api, "dead"))["Ready"].status == "Unknown"

            await until(dead_unknown, "the node confirmed dead to turn Unknown", timeout=15)
            assert time.monotonic() - silenced < 15, "well before the 20 s grace period"
            assert conditions(await node(api, "cut-off"))["Ready"].status == "True"
            assert conditions(await node(api, "fine"))["Ready"].status == "True"
            for task in tasks:
                task.cancel()


async def test_the_startup_grace_period_applies_to_a_node_that_never_posted(api: ApiClient) -> None:
    await api.create(codec.decode_object({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "mute"}}))
    nodes = PlayedNodes(api)
    await nodes.register("talker")
    async with heartbeating(nodes):
        async def never_updated() -> bool:
            try:
                ready = conditions(await node(api, "mute")).get("Ready")
            except ApiError as error:
                assert error.reason is not Reason.NOT_FOUND
                raise
            return ready is not None and (ready.status, ready.reason, ready.message) == (
                "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status.")

        await until(never_updated, "a node that never posted to be marked as such after the startup grace")
