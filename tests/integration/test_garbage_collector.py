"""Garbage collection through ownerReferences, with a real API server and a real controller manager
running only the garbage collector: background, foreground and orphan deletion, owners that never
were (or were another object of the same name), and objects with several owners."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from controlplane.api import codec, kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.client import ApiClient
from tests.support.daemon import DaemonProcess
from tests.support.wait import eventually

CONFIGMAP = kinds.by_kind("ConfigMap")
REPLICASET = kinds.by_kind("ReplicaSet")
POD = kinds.by_kind("Pod")


@pytest.fixture
def controller_manager_args() -> list[str]:
    return ["--controllers", "garbagecollector"]


pytestmark = pytest.mark.usefixtures("controller_manager")  # every test runs beside it


def owned_by(*owners: Any, block: bool = False) -> list[dict[str, Any]]:
    return [{"apiVersion": owner.api_version, "kind": owner.kind, "name": owner.metadata.name,
             "uid": owner.metadata.uid, "blockOwnerDeletion": block} for owner in owners]


async def config_map(api: ApiClient, name: str, owners: list[dict[str, Any]] | None = None,
                     finalizers: list[str] | None = None) -> Any:
    metadata: dict[str, Any] = {"name": name, "ownerReferences": owners or []}
    if finalizers:
        metadata["finalizers"] = finalizers
    return await api.create(codec.decode_object({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata,
                                                 "data": {"k": "v"}}))


async def gone(api: ApiClient, name: str, kind: Any = CONFIGMAP) -> bool:
    try:
        await api.get(kind, "default", name)
    except ApiError as error:
        if error.reason is Reason.NOT_FOUND:
            return True
        raise
    return False


async def wait_gone(api: ApiClient, *names: str, kind: Any = CONFIGMAP) -> None:
    for name in names:
        async def check(name: str = name) -> bool:
            return await gone(api, name, kind)

        await eventually(check, timeout=20, what=f"{kind.kind} {name} to be garbage collected")


async def test_background_deletion_takes_dependents_and_theirs(api: ApiClient) -> None:
    owner = await config_map(api, "owner")
    child = await config_map(api, "child", owned_by(owner))
    await config_map(api, "grandchild", owned_by(child))
    await config_map(api, "bystander")
    await api.delete(CONFIGMAP, "default", "owner", propagation="Background")
    await wait_gone(api, "child", "grandchild")
    assert not await gone(api, "bystander")


async def test_foreground_deletion_keeps_the_owner_until_blocking_dependents_are_gone(api: ApiClient) -> None:
    owner = await config_map(api, "owner")
    await config_map(api, "quick", owned_by(owner, block=True))
    await config_map(api, "slow", owned_by(owner, block=True), finalizers=["example.com/hold"])
    _, pending = await api.delete(CONFIGMAP, "default", "owner", propagation="Foreground")
    assert pending
    await wait_gone(api, "quick")

    async def slow_marked() -> bool:
        slow = await api.get(CONFIGMAP, "default", "slow")
        return bool(slow.metadata.deletion_timestamp)  # type: ignore[attr-defined]

    await eventually(slow_marked, timeout=20, what="the blocking dependent to be marked for deletion")
    waiting = await api.get(CONFIGMAP, "default", "owner")
    assert waiting.metadata.deletion_timestamp  # type: ignore[attr-defined]
    assert "foregroundDeletion" in waiting.metadata.finalizers  # type: ignore[attr-defined]

    slow = await api.get(CONFIGMAP, "default", "slow")
    slow.metadata.finalizers.remove("example.com/hold")  # type: ignore[attr-defined]
    await api.update(slow)
    await wait_gone(api, "slow", "owner")


async def test_foreground_owner_does_not_wait_for_dependents_that_do_not_block(api: ApiClient) -> None:
    owner = await config_map(api, "owner")
    await config_map(api, "held", owned_by(owner, block=False), finalizers=["example.com/hold"])
    await api.delete(CONFIGMAP, "default", "owner", propagation="Foreground")
    await wait_gone(api, "owner")
    held = await api.get(CONFIGMAP, "default", "held")
    assert held.metadata.deletion_timestamp  # type: ignore[attr-defined]  # deleted too, just not waited for
    held.metadata.finalizers.remove("example.com/hold")  # type: ignore[attr-defined]
    await api.update(held)
    await wait_gone(api, "held")


async def test_orphan_deletion_leaves_dependents_without_the_reference(api: ApiClient) -> None:
    owner = await config_map(api, "owner")
    other = await config_map(api, "other")
    await config_map(api, "child", owned_by(owner, other))
    await config_map(api, "only-child", owned_by(owner))
    await api.delete(CONFIGMAP, "default", "owner", propagation="Orphan")
    await wait_gone(api, "owner")
    child = await api.get(CONFIGMAP, "default", "child")
    only = await api.get(CONFIGMAP, "default", "only-child")
    assert [ref.name for ref in child.metadata.owner_references] == ["other"]  # type: ignore[attr-defined]
    assert list(only.metadata.owner_references) == []  # type: ignore[attr-defined]


async def test_a_reference_to_an_owner_that_does_not_exist_counts_as_gone(api: ApiClient) -> None:
    real = await config_map(api, "real")
    ghost = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "never-was", "uid": str(uuid.uuid4())}]
    impostor = [{"apiVersion": "v1", "kind": "ConfigMap", "name": "real", "uid": str(uuid.uuid4())}]
    await config_map(api, "haunted", ghost)
    await config_map(api, "fooled", impostor)
    await config_map(api, "kept", owned_by(real))
    await wait_gone(api, "haunted", "fooled")
    assert not await gone(api, "kept")


async def test_an_object_with_an_owner_left_only_loses_the_reference_to_the_one_gone(api: ApiClient) -> None:
    first = await config_map(api, "first")
    second = await config_map(api, "second")
    await config_map(api, "shared", owned_by(first, second))
    await api.delete(CONFIGMAP, "default", "first")

    async def one_reference_left() -> bool:
        shared = await api.get(CONFIGMAP, "default", "shared")
        return [ref.name for ref in shared.metadata.owner_references] == ["second"]  # type: ignore[attr-defined]

    await eventually(one_reference_left, timeout=20, what="the reference to the deleted owner to be dropped")
    await api.delete(CONFIGMAP, "default", "second")
    await wait_gone(api, "shared")


async def test_a_replicasets_pods_go_with_it_without_any_replicaset_controller(api: ApiClient) -> None:
    rs = await api.create(codec.decode_object({
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web"},
        "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"containers": [{"name": "web", "image": "nginx"}]}}}}))
    for name in ("web-a", "web-b"):
        await api.create(codec.decode_object({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "web"},
                         "ownerReferences": [dict(owned_by(rs, block=True)[0], controller=True)]},
            "spec": {"containers": [{"name": "web", "image": "nginx"}]}}))
    _, pending = await api.delete(REPLICASET, "default", "web", propagation="Foreground")
    assert pending
    await wait_gone(api, "web-a", "web-b", kind=POD)
    await wait_gone(api, "web", kind=REPLICASET)


async def test_a_restarted_collector_finishes_what_was_left(
        api: ApiClient, controller_manager: DaemonProcess) -> None:
    manager = controller_manager
    owner = await config_map(api, "owner")
    await config_map(api, "child", owned_by(owner))
    manager.stop()
    await api.delete(CONFIGMAP, "default", "owner")
    assert not await gone(api, "child")
    manager.start()
    await wait_gone(api, "child")
