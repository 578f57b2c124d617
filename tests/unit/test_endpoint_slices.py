"""EndpointSlices: what a Service's slices should hold, and the fewest writes that get them there."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.api import codec
from controlplane.api.v1 import discovery_pb2
from controlplane.controllers.serviceslices import desired_endpoints, slice_labels, slice_template
from controlplane.controllers.sliceplan import SliceTemplate, endpoint_id, group_of, plan_slices
from tests.unit.test_endpoints_subsets import pod, service

HTTP = ("http", 8080, "TCP", None)


def endpoint_json(endpoint: discovery_pb2.Endpoint) -> dict[str, Any]:
    return codec.encode(endpoint)


def test_a_pods_endpoint_carries_conditions_reference_node_and_hostname() -> None:
    groups = desired_endpoints(service(), [pod("a", "10.244.1.2", hostname="a", subdomain="web")])
    assert list(groups) == [("IPv4", (HTTP,))]
    assert endpoint_json(groups[("IPv4", (HTTP,))][0]) == {
        "addresses": ["10.244.1.2"], "conditions": {"ready": True, "serving": True, "terminating": False},
        "hostname": "a", "targetRef": {"kind": "Pod", "namespace": "shop", "name": "a", "uid": "uid-a"},
        "nodeName": "w1"}


@pytest.mark.parametrize(("ready", "deleting", "publish", "conditions"), [
    (True, False, False, {"ready": True, "serving": True, "terminating": False}),
    (False, False, False, {"ready": False, "serving": False, "terminating": False}),
    (True, True, False, {"ready": False, "serving": True, "terminating": True}),
    (False, True, False, {"ready": False, "serving": False, "terminating": True}),
    (False, False, True, {"ready": True, "serving": True, "terminating": False}),
    (False, True, True, {"ready": True, "serving": True, "terminating": True}),
])
def test_conditions(ready: bool, deleting: bool, publish: bool, conditions: dict[str, bool]) -> None:
    groups = desired_endpoints(service(publishNotReadyAddresses=publish),
                               [pod("a", "10.244.1.2", ready=ready, deleting=deleting)])
    assert endpoint_json(groups[("IPv4", (HTTP,))][0])["conditions"] == conditions


def test_named_target_ports_split_pods_into_groups_and_unresolved_pods_have_no_ports() -> None:
    svc = service(ports=[{"name": "http", "port": 80, "targetPort": "web"}])
    groups = desired_endpoints(svc, [pod("a", "10.244.1.2", ports=[{"name": "web", "containerPort": 3000}]),
                                     pod("b", "10.244.1.3", ports=[{"name": "web", "containerPort": 4000}]),
                                     pod("c", "10.244.1.4")])
    assert {key: [e.addresses[0] for e in eps] for key, eps in groups.items()} == {
        ("IPv4", (("http", 3000, "TCP", None),)): ["10.244.1.2"],
        ("IPv4", (("http", 4000, "TCP", None),)): ["10.244.1.3"],
        ("IPv4", ()): ["10.244.1.4"]}


def test_labels_are_the_services_plus_the_reserved_ones() -> None:
    svc = service(clusterIP="None")
    svc.metadata.labels["kubernetes.io/service-name"] = "spoof"
    assert slice_labels(svc) == {"team": "a", "service.kubernetes.io/headless": "",
                                 "kubernetes.io/service-name": "web",
                                 "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"}
    owner = slice_template(svc).owner
    assert owner is not None and (owner.kind, owner.name, owner.controller) == ("Service", "web", True)


# ------------------------------------------------------------------------------------------ planning

TEMPLATE = SliceTemplate(namespace="shop", generate_name="web-", labels={"kubernetes.io/service-name": "web"})
PORTS = (HTTP,)
KEY = ("IPv4", PORTS)


def ep(n: int, ready: bool = True) -> discovery_pb2.Endpoint:
    endpoint = discovery_pb2.Endpoint(addresses=[f"10.244.{n // 250}.{n % 250 + 1}"])
    endpoint.target_ref.uid = f"uid-{n}"
    endpoint.conditions.ready = ready
    return endpoint


def existing(name: str, numbers: list[int], ports: tuple[Any, ...] = PORTS,
             labels: dict[str, str] | None = None) -> discovery_pb2.EndpointSlice:
    eps = discovery_pb2.EndpointSlice(address_type="IPv4")
    eps.metadata.name, eps.metadata.namespace = name, "shop"
    eps.metadata.labels.update(TEMPLATE.labels if labels is None else labels)
    for port in ports:
        eps.ports.add(name=port[0], port=port[1], protocol=port[2])
    eps.endpoints.extend(ep(n) for n in numbers)
    return eps


def holdings(slices: list[discovery_pb2.EndpointSlice]) -> list[tuple[str, list[str]]]:
    return [(eps.metadata.name or eps.metadata.generate_name, [e.target_ref.uid for e in eps.endpoints])
            for eps in slices]


def uids(*numbers: int) -> list[str]:
    return [f"uid-{n}" for n in numbers]


def test_a_new_service_gets_slices_of_at_most_max_endpoints() -> None:
    plan = plan_slices([], {KEY: [ep(n) for n in range(250)]}, TEMPLATE)
    assert [len(eps.endpoints) for eps in plan.create] == [100, 100, 50]
    made = plan.create[0]
    assert made.metadata.generate_name == "web-" and made.metadata.namespace == "shop"
    assert dict(made.metadata.labels) == {"kubernetes.io/service-name": "web"}
    assert group_of(made) == KEY and made.address_type == "IPv4"
    assert not plan.update and not plan.delete


def test_nothing_to_do_when_the_slices_hold_what_is_wanted() -> None:
    assert plan_slices([existing("web-a", [1, 2])], {KEY: [ep(2), ep(1)]}, TEMPLATE).empty


def test_a_readiness_change_updates_only_the_slice_that_holds_the_endpoint() -> None:
    plan = plan_slices([existing("web-a", [1, 2]), existing("web-b", [3])], {KEY: [ep(1), ep(2, ready=False), ep(3)]},
                       TEMPLATE)
    assert holdings(plan.update) == [("web-a", uids(1, 2))]
    assert plan.update[0].endpoints[1].conditions.ready is False
    assert not plan.create and not plan.delete


def test_new_endpoints_go_to_a_slice_that_changes_anyway_then_to_one_with_room() -> None:
    plan = plan_slices([existing("web-a", [1, 2]), existing("web-b", [3])], {KEY: [ep(1), ep(3), ep(4)]}, TEMPLATE)
    assert holdings(plan.update) == [("web-a", uids(1, 4))]
    plan = plan_slices([existing("web-a", [1, 2]), existing("web-b", [3])], {KEY: [ep(1), ep(2), ep(3), ep(4)]},
                       TEMPLATE)
    assert holdings(plan.update) == [("web-a", uids(1, 2, 4))], "the fullest slice that can take them all"


def test_an_emptied_slice_is_recycled_for_new_endpoints_else_deleted() -> None:
    plan = plan_slices([existing("web-a", [1]), existing("web-b", [2])], {KEY: [ep(2), ep(5)]}, TEMPLATE)
    assert holdings(plan.update) == [("web-a", uids(5))] and not plan.delete and not plan.create
    plan = plan_slices([existing("web-a", [1]), existing("web-b", [2])], {KEY: [ep(2)]}, TEMPLATE)
    assert [eps.metadata.name for eps in plan.delete] == ["web-a"] and not plan.update and not plan.create
    full = [ep(n) for n in range(100, 200)]
    plan = plan_slices([existing("web-a", [1]), existing("web-b", list(range(100, 200)))],
                       {KEY: [*full, ep(5)]}, TEMPLATE)
    assert holdings(plan.update) == [("web-a", uids(5))] and not plan.delete and not plan.create


def test_slices_of_ports_no_longer_wanted_are_recycled_with_the_new_ports() -> None:
    old_ports = (("http", 80, "TCP", None),)
    plan = plan_slices([existing("web-a", [1, 2], ports=old_ports)], {KEY: [ep(1), ep(2)]}, TEMPLATE)
    assert holdings(plan.update) == [("web-a", uids(1, 2))] and group_of(plan.update[0]) == KEY
    assert not plan.create and not plan.delete


def test_a_duplicate_endpoint_is_kept_once() -> None:
    plan = plan_slices([existing("web-a", [1]), existing("web-b", [1, 2])], {KEY: [ep(1), ep(2)]}, TEMPLATE)
    assert holdings(plan.update) == [("web-b", uids(2))] and holdings(plan.delete) == []
    assert [endpoint_id(e) for e in plan.update[0].endpoints] == [("uid-2", ("10.244.0.3",))]


def test_labels_are_put_right_on_slices_that_are_otherwise_fine() -> None:
    plan = plan_slices([existing("web-a", [1], labels={"kubernetes.io/service-name": "web", "old": "x"})],
                       {KEY: [ep(1)]}, TEMPLATE)
    assert holdings(plan.update) == [("web-a", uids(1))]
    assert dict(plan.update[0].metadata.labels) == {"kubernetes.io/service-name": "web"}


@pytest.mark.parametrize(("slices", "created", "updated", "deleted"), [
    ([], ["web-"], [], []),
    ([existing("web-a", [], ports=())], [], [], []),
    ([existing("web-a", [1, 2]), existing("web-b", [3])], [], ["web-a"], ["web-b"]),
    ([existing("web-a", [1]), existing("web-b", [], ports=())], [], [], ["web-a"]),
])
def test_a_service_without_endpoints_keeps_one_placeholder(slices: list[discovery_pb2.EndpointSlice],
                                                           created: list[str], updated: list[str],
                                                           deleted: list[str]) -> None:
    plan = plan_slices(slices, {}, TEMPLATE, placeholder=True)
    assert [eps.metadata.generate_name for eps in plan.create] == created
    assert [eps.metadata.name for eps in plan.update] == updated
    assert [eps.metadata.name for eps in plan.delete] == deleted
    for eps in plan.create + plan.update:
        assert not eps.endpoints and not eps.ports


def test_without_placeholders_no_endpoints_means_no_slices() -> None:
    plan = plan_slices([existing("web-a", [1])], {}, TEMPLATE)
    assert holdings(plan.delete) == [("web-a", uids(1))] and not plan.create
