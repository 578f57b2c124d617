"""Node IPAM with a real API server and controller manager: nodes get a /24 of the cluster CIDR each,
a range a node already carries (an agent started with --pod-cidr) is never handed out again, a
deleted node's range is freed, and a restarted controller manager knows what is taken."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.api import codec, kinds
from controlplane.client import ApiClient
from tests.support.daemon import DaemonProcess
from tests.support.wait import eventually

NODE = kinds.by_kind("Node")
EVENT = kinds.by_kind("Event")


@pytest.fixture
def controller_manager_args() -> list[str]:
    # four ranges only, so that running out is quick to reach
    return ["--controllers", "nodeipam", "--cluster-cidr", "10.244.0.0/22", "--node-cidr-mask-size", "24"]


pytestmark = pytest.mark.usefixtures("controller_manager")  # every test runs beside it


async def register(api: ApiClient, name: str, pod_cidr: str = "") -> None:
    spec: dict[str, Any] = {"podCIDR": pod_cidr, "podCIDRs": [pod_cidr]} if pod_cidr else {}
    await api.create(codec.decode_object({"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                                          "spec": spec}))


async def cidr_of(api: ApiClient, name: str) -> str:
    async def assigned() -> str:
        node = await api.get(NODE, "", name)
        if node.spec.pod_cidr:  # type: ignore[attr-defined]
            assert list(node.spec.pod_cidrs) == [node.spec.pod_cidr]  # type: ignore[attr-defined]
        return str(node.spec.pod_cidr)  # type: ignore[attr-defined]

    return await eventually(assigned, timeout=20, what=f"node {name} to get a pod CIDR")


async def test_nodes_get_free_ranges_and_a_deleted_nodes_range_is_reused_last(
        api: ApiClient, controller_manager: DaemonProcess) -> None:
    await register(api, "manual", "10.244.0.0/24")  # as `kubelab agent --pod-cidr` does
    await register(api, "a")
    assert await cidr_of(api, "a") == "10.244.1.0/24"
    await register(api, "b")
    assert await cidr_of(api, "b") == "10.244.2.0/24"
    await api.delete(NODE, "", "a")
    await register(api, "c")
    assert await cidr_of(api, "c") == "10.244.3.0/24"
    await register(api, "d")
    assert await cidr_of(api, "d") == "10.244.1.0/24"  # a's range, free again
    assert await cidr_of(api, "manual") == "10.244.0.0/24"

    await register(api, "e")  # nothing left

    async def cidr_not_available() -> bool:
        items, _ = await api.list(EVENT, "default", field_selector="involvedObject.name=e")
        return any(event.reason == "CIDRNotAvailable"  # type: ignore[attr-defined]
                   and event.message == "Node e status is now: CIDRNotAvailable" for event in items)  # type: ignore[attr-defined]

    await eventually(cidr_not_available, timeout=20, what="a CIDRNotAvailable event for node e")

    # a restart rebuilds what is taken from the nodes themselves
    manager = controller_manager
    manager.stop()
    await api.delete(NODE, "", "b")
    manager.start()
    assert await cidr_of(api, "e") == "10.244.2.0/24"
