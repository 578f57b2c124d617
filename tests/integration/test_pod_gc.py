"""Pod garbage collection with a real API server and controller manager: the pods of a Node that was
deleted go (nobody is left to stop them), and terminated pods beyond the threshold go oldest first."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.api import codec, kinds
from controlplane.client import ApiClient
from controlplane.client.api import modify
from tests.support.wait import eventually

NODE = kinds.by_kind("Node")
POD = kinds.by_kind("Pod")


@pytest.fixture
def controller_manager_args() -> list[str]:
    return ["--controllers", "podgc", "--pod-gc-period", "0.5", "--pod-gc-orphan-quarantine", "1",
            "--terminated-pod-gc-threshold", "2"]


pytestmark = pytest.mark.usefixtures("controller_manager")  # every test runs beside it


async def pod(api: ApiClient, name: str, node: str, phase: str) -> None:
    await api.create(codec.decode_object({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                                          "spec": {"nodeName": node,
                                                   "containers": [{"name": "c", "image": "busybox"}]}}))

    def set_phase(current: Any) -> None:
        current.status.phase = phase

    await modify(api, POD, "default", name, set_phase, status=True)


async def names(api: ApiClient) -> set[str]:
    items, _ = await api.list(POD, "default")
    return {item.metadata.name for item in items}  # type: ignore[attr-defined]


async def test_the_pods_of_a_deleted_node_are_force_deleted(api: ApiClient) -> None:
    for name in ("w1", "w2"):
        await api.create(codec.decode_object({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}}))
    await pod(api, "on-w1", "w1", "Running")
    await pod(api, "on-w2", "w2", "Running")
    await api.delete(POD, "default", "on-w1")  # Terminating: its agent would stop it, but w1 is about to go
    await api.delete(NODE, "", "w1")

    async def only_w2s_pod_left() -> bool:
        return await names(api) == {"on-w2"}

    await eventually(only_w2s_pod_left, timeout=20, what="the pod of the deleted node to be collected")


async def test_terminated_pods_beyond_the_threshold_go_oldest_first(api: ApiClient) -> None:
    await api.create(codec.decode_object({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "w1"}}))
    for name, phase in (("done-1", "Succeeded"), ("done-2", "Failed"), ("running", "Running")):
        await pod(api, name, "w1", phase)
    assert await names(api) == {"done-1", "done-2", "running"}
    await pod(api, "done-3", "w1", "Succeeded")

    async def oldest_terminated_gone() -> bool:
        return await names(api) == {"done-2", "done-3", "running"}

    await eventually(oldest_terminated_gone, timeout=20, what="the oldest terminated pod to be collected")
