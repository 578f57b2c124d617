"""Which pods spread together (kube-scheduler's DefaultSelector), what a binding writes and checks,
and the PodScheduled condition the scheduler and the API server write."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.api import codec
from controlplane.api.labels import parse_selector
from controlplane.api.v1 import apps_pb2, core_pb2
from controlplane.apiserver.strategy import record_binding
from controlplane.scheduler.binder import bound_copy, still_bindable
from controlplane.scheduler.podinfo import Owner
from controlplane.scheduler.reporter import with_condition
from controlplane.scheduler.spreading import default_selector, owner_selector
from tests.support.scheduling import pod

RS = Owner("apps/v1", "ReplicaSet", "web-5d4f8", "u1")


def _service(selector: dict[str, str]) -> core_pb2.Service:
    made = codec.decode_object({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"},
                                "spec": {"selector": selector, "ports": [{"port": 80}]}})
    assert isinstance(made, core_pb2.Service)
    return made


def _replica_set(selector: dict[str, Any]) -> apps_pb2.ReplicaSet:
    made = codec.decode_object({"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "web-5d4f8"},
                                "spec": {"selector": selector, "template": {
                                    "metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "a", "image": "nginx"}]}}}})
    assert isinstance(made, apps_pb2.ReplicaSet)
    return made


@pytest.mark.parametrize(("services", "owner", "owner_labels", "expected"), [
    ([], None, None, None),  # nothing groups the pod: no spreading
    ([{"app": "web"}], None, None, "app=web"),
    ([{"app": "web"}, {"tier": "front"}], None, None, "app=web,tier=front"),  # merged
    ([{"app": "db"}], None, None, None),  # a Service that does not select the pod
    ([{}], None, None, None),  # a Service without selector selects nothing
    ([], RS, {"matchLabels": {"app": "web", "pod-template-hash": "5d4f8"}}, "app=web,pod-template-hash=5d4f8"),
    ([{"tier": "front"}], RS, {"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]},
     "app in (web),tier=front"),
    ([], Owner("batch/v1", "Job", "j", "u2"), None, None),  # not a controller that spreads
])
def test_default_selector_merges_services_and_the_controllers_selector(
        services: list[dict[str, str]], owner: Owner | None, owner_labels: dict[str, Any] | None,
        expected: str | None) -> None:
    labels = {"app": "web", "tier": "front", "pod-template-hash": "5d4f8"}
    spread = owner_selector(_replica_set(owner_labels)) if owner_labels is not None else None
    found = default_selector(labels, [_service(s) for s in services], owner, spread)
    assert (None if found is None else str(found)) == expected
    if found is not None:
        assert found == parse_selector(expected or "")


def test_a_binding_is_the_pod_with_its_node_and_holds_only_for_the_same_unbound_pod() -> None:
    waiting = pod("web", cpu="100m")
    bound = bound_copy(waiting, "worker1")
    assert bound.spec.node_name == "worker1" and not waiting.spec.node_name
    assert still_bindable(pod("web", cpu="100m"), waiting)
    assert not still_bindable(pod("web", cpu="100m", node_name="worker2"), waiting)
    assert not still_bindable(pod("web", cpu="200m"), waiting)
    assert not still_bindable(pod("web", cpu="100m", uid="another"), waiting)
    assert not still_bindable(pod("web", cpu="100m", deleting=True), waiting)


def test_the_unschedulable_condition_is_written_only_when_it_changes() -> None:
    status = core_pb2.PodStatus(phase="Pending")
    assert with_condition(status, "Unschedulable", "0/3 nodes are available: 3 Insufficient cpu.", "t1")
    assert not with_condition(status, "Unschedulable", "0/3 nodes are available: 3 Insufficient cpu.", "t2")
    assert with_condition(status, "Unschedulable", "0/4 nodes are available: 4 Insufficient cpu.", "t3")
    [condition] = status.conditions
    assert (condition.status, condition.reason, condition.last_transition_time) == ("False", "Unschedulable", "t1")


def test_the_api_server_records_a_binding_with_podscheduled_true() -> None:
    old = pod("web")
    old.status.conditions.add(type="PodScheduled", status="False", reason="Unschedulable", message="0/1 ...",
                              last_transition_time="t0")
    new = bound_copy(old, "worker1")
    record_binding(new, old, "t1")
    [condition] = new.status.conditions
    assert (condition.status, condition.reason, condition.message, condition.last_transition_time) == (
        "True", "", "", "t1")
    unchanged = bound_copy(new, "worker1")
    record_binding(unchanged, new, "t2")  # already bound: not a binding
    assert unchanged.status.conditions[0].last_transition_time == "t1"
