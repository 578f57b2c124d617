"""The Endpoints a Service should have, from its pods: readiness, target ports, hostnames, repacking."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.api import codec
from controlplane.api.v1 import core_pb2
from controlplane.controllers.endpointsubsets import (
    HEADLESS_LABEL,
    OVER_CAPACITY_ANNOTATION,
    TRIGGER_TIME_ANNOTATION,
    plan_endpoints,
    repack,
    service_subsets,
    trigger_time,
    truncate,
)


def service(name: str = "web", **spec: Any) -> core_pb2.Service:
    spec.setdefault("selector", {"app": "web"})
    spec.setdefault("ports", [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}])
    spec.setdefault("clusterIP", "10.96.0.20")
    return codec.decode_object({"apiVersion": "v1", "kind": "Service",
                                "metadata": {"name": name, "namespace": "shop", "labels": {"team": "a"}},
                                "spec": spec})


def pod(name: str, ip: str = "", *, ready: bool = True, labels: dict[str, str] | None = None, node: str = "w1",
        ports: list[dict[str, Any]] | None = None, phase: str = "Running", deleting: bool = False,
        hostname: str = "", subdomain: str = "") -> core_pb2.Pod:
    meta: dict[str, Any] = {"name": name, "namespace": "shop", "uid": f"uid-{name}",
                            "labels": labels if labels is not None else {"app": "web"}}
    if deleting:
        meta["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    spec: dict[str, Any] = {"nodeName": node, "containers": [{"name": "c", "image": "x", "ports": ports or []}]}
    if hostname:
        spec["hostname"] = hostname
    if subdomain:
        spec["subdomain"] = subdomain
    status: dict[str, Any] = {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}
    if ip:
        status["podIP"] = ip
    return codec.decode_object({"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec, "status": status})


def encoded(subsets: list[core_pb2.EndpointSubset]) -> list[dict[str, Any]]:
    return [codec.encode(subset) for subset in subsets]


def addr(ip: str, name: str, node: str = "w1", **extra: str) -> dict[str, Any]:
    return {"ip": ip, "nodeName": node, "targetRef": {"kind": "Pod", "namespace": "shop", "name": name,
                                                      "uid": f"uid-{name}"}, **extra}


HTTP = {"name": "http", "port": 8080, "protocol": "TCP"}


def tcp(name: str, port: int) -> dict[str, Any]:
    return {"name": name, "port": port, "protocol": "TCP"}


@pytest.mark.parametrize(("svc", "pods", "expected"), [
    pytest.param(service(), [pod("a", "10.244.1.2"), pod("b", "10.244.2.3", node="w2")],
                 [{"addresses": [addr("10.244.1.2", "a"), addr("10.244.2.3", "b", "w2")], "ports": [HTTP]}],
                 id="ready pods are addresses, the number targetPort on each"),
    pytest.param(service(), [pod("a", "10.244.1.2"), pod("b", "10.244.1.3", ready=False)],
                 [{"addresses": [addr("10.244.1.2", "a")], "notReadyAddresses": [addr("10.244.1.3", "b")],
                   "ports": [HTTP]}],
                 id="an unready pod is kept apart"),
    pytest.param(service(publishNotReadyAddresses=True), [pod("b", "10.244.1.3", ready=False)],
                 [{"addresses": [addr("10.244.1.3", "b")], "ports": [HTTP]}],
                 id="publishNotReadyAddresses lists it as ready"),
    pytest.param(service(), [pod("a"), pod("b", "10.244.1.3", phase="Succeeded"),
                             pod("c", "10.244.1.4", deleting=True), pod("d", "10.244.1.5", labels={"app": "db"})],
                 [], id="no address, finished, terminating or not selected: left out"),
    pytest.param(service(publishNotReadyAddresses=True), [pod("c", "10.244.1.4", deleting=True)],
                 [{"addresses": [addr("10.244.1.4", "c")], "ports": [HTTP]}],
                 id="terminating pods stay when not-ready addresses are published"),
    pytest.param(service(ports=[{"name": "http", "port": 80, "targetPort": "web"}]),
                 [pod("a", "10.244.1.2", ports=[{"name": "web", "containerPort": 3000}]),
                  pod("b", "10.244.1.3", ports=[{"name": "web", "containerPort": 4000}]),
                  pod("c", "10.244.1.4", ports=[{"name": "other", "containerPort": 5000}])],
                 [{"addresses": [addr("10.244.1.2", "a")], "ports": [tcp("http", 3000)]},
                  {"addresses": [addr("10.244.1.3", "b")], "ports": [tcp("http", 4000)]}],
                 id="a named targetPort is looked up on each pod; a pod without it is left out"),
    pytest.param(service(ports=[{"name": "dns", "port": 53, "targetPort": "dns", "protocol": "UDP"}]),
                 [pod("a", "10.244.1.2", ports=[{"name": "dns", "containerPort": 53}])], [],
                 id="the named port must have the service port's protocol"),
    pytest.param(service(ports=[{"name": "http", "port": 80, "targetPort": 8080},
                                {"name": "admin", "port": 81, "targetPort": "admin"}]),
                 [pod("a", "10.244.1.2", ports=[{"name": "admin", "containerPort": 9000}]), pod("b", "10.244.1.3")],
                 [{"addresses": [addr("10.244.1.2", "a")], "ports": [tcp("admin", 9000)]},
                  {"addresses": [addr("10.244.1.2", "a"), addr("10.244.1.3", "b")], "ports": [HTTP]}],
                 id="a subset per distinct set of addresses, with the ports they all serve"),
    pytest.param(service(clusterIP="None", ports=[]), [pod("a", "10.244.1.2", hostname="a", subdomain="web")],
                 [{"addresses": [addr("10.244.1.2", "a", hostname="a")]}],
                 id="headless without ports; hostname under its subdomain"),
    pytest.param(service(), [pod("a", "10.244.1.2", hostname="a", subdomain="other")],
                 [{"addresses": [addr("10.244.1.2", "a")], "ports": [HTTP]}],
                 id="no hostname when the subdomain names another service"),
])
def test_service_subsets(svc: core_pb2.Service, pods: list[core_pb2.Pod], expected: list[dict[str, Any]]) -> None:
    assert encoded(service_subsets(svc, pods)) == expected


def test_repack_merges_subsets_and_ready_wins() -> None:
    a = {"ip": "10.0.0.1"}
    subsets = [_subset({"addresses": [a], "ports": [{"name": "p", "port": 1, "protocol": "TCP"}]}),
               _subset({"notReadyAddresses": [a], "ports": [{"name": "p", "port": 1, "protocol": "TCP"}]}),
               _subset({"addresses": [a], "ports": [{"name": "q", "port": 2, "protocol": "TCP"}]})]
    assert encoded(repack(subsets)) == [{"addresses": [a], "ports": [{"name": "p", "port": 1, "protocol": "TCP"},
                                                                    {"name": "q", "port": 2, "protocol": "TCP"}]}]


def _subset(data: dict[str, Any]) -> core_pb2.EndpointSubset:
    subset = core_pb2.EndpointSubset()
    codec.decode_into(subset, data)
    return subset


@pytest.mark.parametrize(("ready", "not_ready", "kept_ready", "kept_not_ready"), [
    ((600, 0), (300, 0), (600, 0), (300, 0)),
    ((600, 0), (300, 300), (600, 0), (200, 200)),
    ((800, 400), (0, 0), (667, 333), (0, 0)),
])
def test_truncation_keeps_a_share_of_each_subset(ready: tuple[int, int], not_ready: tuple[int, int],
                                                 kept_ready: tuple[int, int], kept_not_ready: tuple[int, int]) -> None:
    subsets = []
    for i in range(2):
        subset = core_pb2.EndpointSubset()
        subset.addresses.extend(core_pb2.EndpointAddress(ip=f"10.{i}.{n // 250}.{n % 250}") for n in range(ready[i]))
        subset.not_ready_addresses.extend(core_pb2.EndpointAddress(ip=f"10.{i}.9.{n}") for n in range(not_ready[i]))
        subsets.append(subset)
    truncated = truncate(subsets, 1000)
    assert truncated == (sum(ready) + sum(not_ready) > 1000)
    assert tuple(len(s.addresses) for s in subsets) == kept_ready
    assert tuple(len(s.not_ready_addresses) for s in subsets) == kept_not_ready


def test_plan_creates_then_is_quiet_until_something_changes() -> None:
    svc = service(clusterIP="None")
    first = plan_endpoints(svc, [pod("a", "10.244.1.2")], None)
    assert first.create and first.endpoints is not None
    made = first.endpoints
    assert (made.metadata.name, made.metadata.namespace) == ("web", "shop")
    assert dict(made.metadata.labels) == {"team": "a", HEADLESS_LABEL: ""}
    assert OVER_CAPACITY_ANNOTATION not in made.metadata.annotations
    made.metadata.resource_version = "7"
    assert plan_endpoints(svc, [pod("a", "10.244.1.2")], made).endpoints is None
    changed = plan_endpoints(svc, [pod("a", "10.244.1.2", ready=False)], made)
    assert not changed.create and changed.endpoints is not None
    assert changed.endpoints.metadata.resource_version == "7"
    assert [a.ip for a in changed.endpoints.subsets[0].not_ready_addresses] == ["10.244.1.2"]


def test_the_trigger_time_is_the_latest_change_of_the_service_and_its_pods() -> None:
    svc = service()
    svc.metadata.creation_timestamp = "2026-01-01T10:00:00Z"
    first = pod("a", "10.244.1.2")
    first.metadata.creation_timestamp = "2026-01-01T10:01:00Z"
    first.status.conditions[0].last_transition_time = "2026-01-01T10:02:30Z"
    other = pod("b", "10.244.1.3", labels={"app": "db"})
    other.metadata.creation_timestamp = "2026-01-01T11:00:00Z"
    assert trigger_time(svc, [first, other]) == "2026-01-01T10:02:30Z"
    first.metadata.deletion_timestamp = "2026-01-01T10:05:00Z"
    assert trigger_time(svc, [first]) == "2026-01-01T10:05:00Z"
    assert trigger_time(service(), []) == ""
    plan = plan_endpoints(svc, [first], None)
    assert plan.endpoints is not None
    assert plan.endpoints.metadata.annotations[TRIGGER_TIME_ANNOTATION] == "2026-01-01T10:05:00Z"
