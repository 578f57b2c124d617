"""The ReplicaSet controller in a real controller manager against a real API server. The test plays
the node (binding pods and writing their status through the API) so it decides when each pod is
ready; the scheduler and agents are not part of these stories."""

from __future__ import annotations

import re

from controlplane.api import kinds
from controlplane.api.v1 import apps_pb2, core_pb2
from controlplane.client import ApiClient
from controlplane.client.api import modify
from controlplane.controllers.ownership import controller_of
from tests.integration import workloads
from tests.integration.workloads import (
    POD,
    REPLICA_SET,
    events_about,
    make_ready,
    pod,
    pods_of,
    replica_set,
)
from tests.support.daemon import DaemonProcess
from tests.support.wait import eventually

cluster = workloads.cluster  # fixtures
controller_manager_args = workloads.controller_manager_args

POD_NAME = re.compile(r"web-[bcdfghjklmnpqrstvwxz2456789]{5}")


async def _rs(api: ApiClient, name: str = "web") -> apps_pb2.ReplicaSet:
    found = await api.get(REPLICA_SET, "default", name)
    assert isinstance(found, apps_pb2.ReplicaSet)
    return found


async def test_a_replica_set_creates_its_pods_with_random_names_and_an_owner(cluster: ApiClient) -> None:
    created = await cluster.create(replica_set(replicas=3))

    async def three() -> list[core_pb2.Pod]:
        found = await pods_of(cluster, created.metadata.uid)  # type: ignore[attr-defined]
        assert len(found) == 3, [p.metadata.name for p in found]
        return found

    pods = await eventually(three, timeout=20, what="3 pods")
    for item in pods:
        assert POD_NAME.fullmatch(item.metadata.name), item.metadata.name
        reference = item.metadata.owner_references[0]
        assert (reference.api_version, reference.kind, reference.name) == ("apps/v1", "ReplicaSet", "web")
        assert reference.controller and reference.block_owner_deletion
        assert dict(item.metadata.labels) == {"app": "web"}

    async def recorded() -> bool:  # each Event follows its pod's creation
        messages = await events_about(cluster, "web")
        assert sorted(messages) == sorted(("SuccessfulCreate", f"Created pod: {p.metadata.name}") for p in pods)
        return True

    await eventually(recorded, timeout=20, what="an Event per pod")


async def test_status_counts_ready_and_available_pods_and_the_observed_generation(cluster: ApiClient) -> None:
    await cluster.create(replica_set(replicas=2, minReadySeconds=2))
    pods = await eventually(lambda: _count(cluster, 2), timeout=20, what="2 pods")
    await make_ready(cluster, pods[:1])

    async def one_ready_none_available() -> apps_pb2.ReplicaSet:
        rs = await _rs(cluster)
        assert (rs.status.replicas, rs.status.fully_labeled_replicas, rs.status.ready_replicas,
                rs.status.available_replicas, rs.status.observed_generation) == (2, 2, 1, 0, 1)
        return rs

    await eventually(one_ready_none_available, timeout=20, what="1 ready, 0 available")

    async def one_available() -> bool:
        rs = await _rs(cluster)
        assert (rs.status.ready_replicas, rs.status.available_replicas) == (1, 1)
        return True

    # Ready for minReadySeconds: available without any other change to look at.
    await eventually(one_available, timeout=20, what="the ready pod to turn available after minReadySeconds")


async def _scale(api: ApiClient, replicas: int, name: str = "web") -> None:
    def edit(rs: apps_pb2.ReplicaSet) -> None:
        rs.spec.replicas = replicas

    await modify(api, REPLICA_SET, "default", name, edit)


async def _count(api: ApiClient, count: int, selector: str = "app=web") -> list[core_pb2.Pod]:
    found = await pods_of(api, selector=selector)
    assert len(found) == count, [p.metadata.name for p in found]
    return found


async def test_scale_down_deletes_unready_pods_before_ready_ones(cluster: ApiClient) -> None:
    await cluster.create(replica_set(replicas=4))
    pods = await eventually(lambda: _count(cluster, 4), timeout=20, what="4 pods")
    ready = pods[:2]
    await make_ready(cluster, ready)
    await make_ready(cluster, pods[2:3], ready=False)  # running, not ready; pods[3] stays unscheduled
    await _scale(cluster, 2)

    async def only_the_ready_ones() -> bool:
        left = await pods_of(cluster, selector="app=web")
        assert [p.metadata.name for p in left] == sorted(p.metadata.name for p in ready)
        return True

    await eventually(only_the_ready_ones, timeout=20, what="the two ready pods to be the ones left")

    async def recorded() -> bool:
        messages = await events_about(cluster, "web")
        assert ("SuccessfulDelete", f"Deleted pod: {pods[2].metadata.name}") in messages
        assert ("SuccessfulDelete", f"Deleted pod: {pods[3].metadata.name}") in messages
        return True

    await eventually(recorded, timeout=20, what="the SuccessfulDelete Events")


async def test_a_deleted_or_terminating_pod_is_replaced(cluster: ApiClient) -> None:
    created = await cluster.create(replica_set(replicas=2))
    pods = await eventually(lambda: _count(cluster, 2), timeout=20, what="2 pods")
    await make_ready(cluster, pods)  # bound: deleting it now is graceful (the pod terminates first)
    await cluster.delete(POD, "default", pods[0].metadata.name)

    async def replaced() -> bool:
        live = await pods_of(cluster, created.metadata.uid)  # type: ignore[attr-defined]
        names = {p.metadata.name for p in live}
        assert len(live) == 2 and pods[0].metadata.name not in names, names
        return True

    await eventually(replaced, timeout=20, what="a replacement for the terminating pod")


async def test_orphans_matching_the_selector_are_adopted_and_only_the_missing_ones_made(cluster: ApiClient) -> None:
    for name in ("stray-1", "stray-2"):
        await cluster.create(pod(name, {"app": "web"}))
    await cluster.create(pod("other", {"app": "db"}))
    created = await cluster.create(replica_set(replicas=3))

    async def adopted() -> list[core_pb2.Pod]:
        owned = await pods_of(cluster, created.metadata.uid)  # type: ignore[attr-defined]
        assert len(owned) == 3, [p.metadata.name for p in owned]
        return owned

    owned = await eventually(adopted, timeout=20, what="the strays adopted and one pod made")
    names = {p.metadata.name for p in owned}
    assert {"stray-1", "stray-2"} <= names
    other = await cluster.get(POD, "default", "other")
    assert not other.metadata.owner_references  # type: ignore[attr-defined]

    async def one_created() -> bool:
        assert len([m for r, m in await events_about(cluster, "web") if r == "SuccessfulCreate"]) == 1
        return True

    await eventually(one_created, timeout=20, what="one SuccessfulCreate Event")


async def test_a_pod_relabelled_out_of_the_selector_is_released_and_replaced(cluster: ApiClient) -> None:
    created = await cluster.create(replica_set(replicas=2))
    pods = await eventually(lambda: _count(cluster, 2), timeout=20, what="2 pods")
    target = pods[0]
    await modify(cluster, POD, "default", target.metadata.name, lambda p: p.metadata.labels.update(app="debug"))

    async def released() -> bool:
        freed = await cluster.get(POD, "default", target.metadata.name)
        assert controller_of(freed.metadata) is None, freed.metadata.owner_references  # type: ignore[attr-defined]
        owned = await pods_of(cluster, created.metadata.uid)  # type: ignore[attr-defined]
        assert len(owned) == 2 and target.metadata.name not in {p.metadata.name for p in owned}
        return True

    await eventually(released, timeout=20, what="the relabelled pod released and replaced")


async def test_a_pod_owned_by_another_controller_is_never_adopted(cluster: ApiClient) -> None:
    first = await cluster.create(replica_set("first", replicas=1, labels={"app": "web"}))
    await eventually(lambda: _count(cluster, 1), timeout=20, what="first's pod")
    second = await cluster.create(replica_set("second", replicas=1, labels={"app": "web"}))

    async def each_has_its_own() -> bool:
        assert len(await pods_of(cluster, first.metadata.uid)) == 1  # type: ignore[attr-defined]
        assert len(await pods_of(cluster, second.metadata.uid)) == 1  # type: ignore[attr-defined]
        return True

    await eventually(each_has_its_own, timeout=20, what="one pod each")


async def test_a_failed_creation_sets_replica_failure_and_an_event(cluster: ApiClient) -> None:
    rs = replica_set(replicas=1)
    rs.spec.template.spec.containers[0].env_from.add().config_map_ref.name = "missing"
    # The API server refuses a ReplicaSet whose template names a missing ConfigMap, so it is created
    # while the ConfigMap exists, and the ConfigMap deleted before the controller manager creates pods.
    from controlplane.api import codec

    config_map = codec.decode_object({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "missing"},
                                      "data": {"A": "1"}})
    await cluster.create(config_map)
    rs.spec.replicas = 0
    await cluster.create(rs)
    await cluster.delete(kinds.by_kind("ConfigMap"), "default", "missing")
    await _scale(cluster, 1)

    async def failed() -> bool:
        status = (await _rs(cluster)).status
        failure = next((c for c in status.conditions if c.type == "ReplicaFailure"), None)
        assert failure is not None and failure.reason == "FailedCreate" and failure.status == "True", status
        return True

    await eventually(failed, timeout=20, what="the ReplicaFailure condition")
    messages = [m for r, m in await events_about(cluster, "web") if r == "FailedCreate"]
    assert messages and messages[0].startswith("Error creating: "), messages


async def test_a_controller_manager_killed_while_creating_ends_with_exactly_the_replicas_wanted(
        cluster: ApiClient, controller_manager: DaemonProcess) -> None:
    created = await cluster.create(replica_set(replicas=40))
    uid = created.metadata.uid  # type: ignore[attr-defined]

    async def some() -> bool:
        return len(await pods_of(cluster, uid)) >= 3

    await eventually(some, timeout=20, what="the first pods")
    controller_manager.kill()  # SIGKILL in the middle of its slow-start batches
    controller_manager.start()

    async def settled() -> bool:
        rs = await _rs(cluster)
        assert (rs.status.replicas, rs.status.observed_generation) == (40, 1), rs.status
        return True

    await eventually(settled, timeout=60, what="40 replicas observed")
    assert len(await pods_of(cluster, uid)) == 40
    assert not [m for r, m in await events_about(cluster, "web") if r == "SuccessfulDelete"], \
        "a surplus pod was made and deleted"
