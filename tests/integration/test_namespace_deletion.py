"""Deleting a namespace, with a real API server and a real controller manager: the namespace is
Terminating and refuses new objects, everything inside goes (a running pod stops gracefully
first, which the test plays as the node's agent would), then the namespace itself."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.api import codec, kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.client import ApiClient
from tests.support.wait import eventually

NAMESPACE = kinds.by_kind("Namespace")
POD = kinds.by_kind("Pod")
CONFIGMAP = kinds.by_kind("ConfigMap")


@pytest.fixture
def controller_manager_args() -> list[str]:
    return ["--controllers", "namespace,garbagecollector"]


pytestmark = pytest.mark.usefixtures("controller_manager")  # every test runs beside it


def manifest(kind: str, name: str, namespace: str, **rest: Any) -> Any:
    api_version = kinds.by_kind(kind).api_version
    return codec.decode_object({"apiVersion": api_version, "kind": kind,
                                "metadata": {"name": name, "namespace": namespace}, **rest})


async def exists(api: ApiClient, kind: Any, namespace: str, name: str) -> bool:
    try:
        await api.get(kind, namespace, name)
    except ApiError as error:
        if error.reason is Reason.NOT_FOUND:
            return False
        raise
    return True


async def test_everything_inside_goes_then_the_namespace(api: ApiClient) -> None:
    await api.create(codec.decode_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team"}}))
    await api.create(manifest("ConfigMap", "settings", "team", data={"a": "b"}))
    await api.create(manifest("Secret", "token", "team", stringData={"t": "s"}))
    await api.create(manifest("Service", "web", "team", spec={"selector": {"app": "web"}, "ports": [{"port": 80}]}))
    await api.create(manifest("Pod", "pending", "team", spec={"containers": [{"name": "c", "image": "busybox"}]}))
    await api.create(manifest("Pod", "running", "team",
                              spec={"nodeName": "worker1", "containers": [{"name": "c", "image": "busybox"}]}))
    namespace, pending = await api.delete(NAMESPACE, "", "team")
    assert pending and namespace.status.phase == "Terminating"  # type: ignore[attr-defined]
    assert "kubernetes" in namespace.spec.finalizers  # type: ignore[attr-defined]

    with pytest.raises(ApiError) as refused:
        await api.create(manifest("ConfigMap", "late", "team", data={"a": "b"}))
    assert refused.value.message == ("unable to create new content in namespace team because it is being "
                                     "terminated")

    async def only_the_running_pod_is_left() -> bool:
        left = [(kind.kind, name) for kind in (CONFIGMAP, POD, kinds.by_kind("Secret"), kinds.by_kind("Service"))
                for name in ("settings", "token", "web", "pending", "running")
                if await exists(api, kind, "team", name)]
        return left == [("Pod", "running")]

    await eventually(only_the_running_pod_is_left, timeout=20, what="the namespace's content to be deleted")
    running = await api.get(POD, "team", "running")
    assert running.metadata.deletion_timestamp  # type: ignore[attr-defined]  # stopping gracefully

    async def remaining_reported() -> Any:
        namespace = await api.get(NAMESPACE, "", "team")
        conditions = {c.type: c for c in namespace.status.conditions}  # type: ignore[attr-defined]
        remaining = conditions.get("NamespaceContentRemaining")
        return remaining is not None and remaining.status == "True" and remaining.message == (
            "Some resources are remaining: pods. has 1 resource instances")

    await eventually(remaining_reported, timeout=20, what="the namespace to say what is left")
    assert await exists(api, NAMESPACE, "", "team")

    await api.delete(POD, "team", "running", grace_period=0)  # the node's agent, once the container stopped

    async def namespace_gone() -> bool:
        return not await exists(api, NAMESPACE, "", "team")

    await eventually(namespace_gone, timeout=30, what="the namespace to be deleted once empty")


async def test_content_holding_a_finalizer_keeps_the_namespace_until_it_is_released(api: ApiClient) -> None:
    await api.create(codec.decode_object({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "held"}}))
    held = manifest("ConfigMap", "keep", "held", data={"a": "b"})
    held.metadata.finalizers.append("example.com/keep")
    await api.create(held)
    await api.delete(NAMESPACE, "", "held")

    async def finalizer_reported() -> Any:
        namespace = await api.get(NAMESPACE, "", "held")
        conditions = {c.type: c for c in namespace.status.conditions}  # type: ignore[attr-defined]
        found = conditions.get("NamespaceFinalizersRemaining")
        return found is not None and found.message == (
            "Some content in the namespace has finalizers remaining: example.com/keep in 1 resource instances")

    await eventually(finalizer_reported, timeout=20, what="the namespace to name the finalizer holding it")
    current = await api.get(CONFIGMAP, "held", "keep")
    current.metadata.finalizers.remove("example.com/keep")  # type: ignore[attr-defined]
    await api.update(current)

    async def namespace_gone() -> bool:
        return not await exists(api, NAMESPACE, "", "held")

    await eventually(namespace_gone, timeout=30, what="the namespace to go once its content is released")


async def test_system_namespaces_cannot_be_deleted(api: ApiClient) -> None:
    with pytest.raises(ApiError) as refused:
        await api.delete(NAMESPACE, "", "kube-system")
    assert refused.value.reason is Reason.FORBIDDEN
