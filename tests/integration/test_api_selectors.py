"""Label and field selectors on list, as Kubernetes evaluates them."""

from __future__ import annotations

import pytest

from controlplane.api import codec, kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.client import ApiClient
from tests.support.samples import sample

PODS = {"web-1": ({"app": "web", "tier": "front"}, "worker1"), "web-2": ({"app": "web"}, "worker2"),
        "db-1": ({"app": "db", "tier": "back"}, "worker1"), "cache-1": ({"app": "cache", "tier": "mid"}, "")}


@pytest.fixture
async def pods(api: ApiClient) -> None:
    await api.create(codec.decode_object(sample("Namespace")))
    for name, (labels, node) in PODS.items():
        document = sample("Pod")
        document["metadata"] = {"name": name, "labels": labels}
        if node:
            document["spec"] = {**document["spec"], "nodeName": node}
        await api.create(codec.decode_object(document))
    other = sample("Pod")
    other["metadata"] = {"name": "web-1", "namespace": "team-a", "labels": {"app": "web"}}
    await api.create(codec.decode_object(other))


async def _names(api: ApiClient, namespace: str = "default", **selectors: str) -> list[str]:
    items, _ = await api.list(kinds.by_kind("Pod"), namespace, **selectors)
    return sorted(f"{i.metadata.namespace}/{i.metadata.name}" if not namespace else i.metadata.name for i in items)


@pytest.mark.parametrize(("selector", "expected"), [
    ("app=web", ["web-1", "web-2"]),
    ("app==web", ["web-1", "web-2"]),
    ("app!=web", ["cache-1", "db-1"]),
    ("tier in (front,back)", ["db-1", "web-1"]),
    ("tier notin (front)", ["cache-1", "db-1", "web-2"]),
    ("tier", ["cache-1", "db-1", "web-1"]),
    ("!tier", ["web-2"]),
    ("app=web,tier", ["web-1"]),
    ("", ["cache-1", "db-1", "web-1", "web-2"]),
])
async def test_label_selectors(api: ApiClient, pods: None, selector: str, expected: list[str]) -> None:
    assert await _names(api, label_selector=selector) == expected


@pytest.mark.parametrize(("selector", "expected"), [
    ("metadata.name=web-1", ["web-1"]),
    ("spec.nodeName=worker1", ["db-1", "web-1"]),
    ("spec.nodeName=", ["cache-1"]),
    ("spec.nodeName!=worker1", ["cache-1", "web-2"]),
    ("status.phase=Pending", ["cache-1", "db-1", "web-1", "web-2"]),
    ("status.phase=Running", []),
    ("metadata.name=web-1,spec.nodeName=worker1", ["web-1"]),
])
async def test_field_selectors(api: ApiClient, pods: None, selector: str, expected: list[str]) -> None:
    assert await _names(api, field_selector=selector) == expected


async def test_field_selector_on_namespace_across_all_namespaces(api: ApiClient, pods: None) -> None:
    assert await _names(api, "", field_selector="metadata.namespace=team-a") == ["team-a/web-1"]
    assert await _names(api, "", label_selector="app=web") == ["default/web-1", "default/web-2", "team-a/web-1"]


@pytest.mark.parametrize(("label_selector", "field_selector"), [
    ("app in (web", ""), ("a b", ""), ("", "spec.containers=web"), ("", "nonsense"),
])
async def test_bad_selectors_are_refused(api: ApiClient, label_selector: str, field_selector: str) -> None:
    with pytest.raises(ApiError) as refused:
        await api.list(kinds.by_kind("Pod"), "default", label_selector=label_selector,
                       field_selector=field_selector)
    assert refused.value.reason in (Reason.BAD_REQUEST, Reason.INVALID)
