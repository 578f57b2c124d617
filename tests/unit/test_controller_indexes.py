"""The pod label index: a Service's candidates come from its rarest selector pair, in its namespace."""

from __future__ import annotations

from typing import Any

from controlplane.api import kinds
from controlplane.api.v1 import core_pb2
from controlplane.client.informer import Informer, object_key
from controlplane.controllers import indexes


def _pod(name: str, namespace: str = "default", **labels: str) -> core_pb2.Pod:
    pod = core_pb2.Pod()
    pod.metadata.name, pod.metadata.namespace = name, namespace
    pod.metadata.labels.update(labels)
    return pod


def _informer(*pods: core_pb2.Pod) -> Informer:
    informer = Informer(client=Any, kind=kinds.by_kind("Pod"))  # type: ignore[arg-type]  # never started
    informer.add_index(indexes.POD_LABEL_INDEX, indexes.pods_by_label)
    for pod in pods:
        informer._apply(object_key(pod), pod)  # what a watch event does
    return informer


def _names(found: list[core_pb2.Pod]) -> list[str]:
    return sorted(pod.metadata.name for pod in found)


def test_candidates_come_from_the_rarest_pair_of_the_selector() -> None:
    pods = [_pod(f"web-{n}", app="web", tier="front" if n == 0 else "back") for n in range(5)]
    informer = _informer(*pods, _pod("db", app="db", tier="front"))
    assert _names(indexes.candidates_for_selector(informer, "default", {"app": "web", "tier": "front"})) == [
        "db", "web-0"]  # the two `tier=front` pods: a superset, callers match the rest
    assert _names(indexes.candidates_for_selector(informer, "default", {"app": "web"})) == [
        f"web-{n}" for n in range(5)]


def test_other_namespaces_missing_pairs_and_empty_selectors_give_nothing() -> None:
    informer = _informer(_pod("web", app="web"), _pod("web", "other", app="web"))
    assert _names(indexes.candidates_for_selector(informer, "other", {"app": "web"})) == ["web"]
    assert indexes.candidates_for_selector(informer, "default", {"app": "web", "tier": "none"}) == []
    assert indexes.candidates_for_selector(informer, "default", {}) == []


def test_a_relabelled_pod_moves_between_buckets() -> None:
    informer = _informer(_pod("web", app="web"))
    informer._apply("default/web", _pod("web", app="api"))
    assert indexes.candidates_for_selector(informer, "default", {"app": "web"}) == []
    assert _names(indexes.candidates_for_selector(informer, "default", {"app": "api"})) == ["web"]
