"""Mirroring user-written Endpoints into EndpointSlices; the write tracker; which pod changes matter."""

from __future__ import annotations

from typing import Any

import pytest

from controlplane.api import codec
from controlplane.api.v1 import core_pb2
from controlplane.controllers.mirroring import mirror_template, mirrored_endpoints, should_mirror
from controlplane.controllers.servicetriggers import changed_for_endpoints
from controlplane.controllers.writetracker import WriteTracker
from tests.unit.test_endpoints_subsets import pod, service


def endpoints(subsets: list[dict[str, Any]], labels: dict[str, str] | None = None,
              annotations: dict[str, str] | None = None) -> core_pb2.Endpoints:
    return codec.decode_object({"apiVersion": "v1", "kind": "Endpoints",
                                "metadata": {"name": "ext", "namespace": "shop", "uid": "ep-uid",
                                             "labels": labels or {}, "annotations": annotations or {}},
                                "subsets": subsets})


SELECTORLESS = service("ext", selector={})


@pytest.mark.parametrize(("svc", "labels", "annotations", "mirrored"), [
    (SELECTORLESS, {}, {}, True),
    (service("ext"), {}, {}, False),
    (None, {}, {}, False),
    (SELECTORLESS, {"endpointslice.kubernetes.io/skip-mirror": "true"}, {}, False),
    (SELECTORLESS, {"endpointslice.kubernetes.io/skip-mirror": "false"}, {}, True),
    (SELECTORLESS, {}, {"control-plane.alpha.kubernetes.io/leader": "x"}, False),
])
def test_which_endpoints_are_mirrored(svc: core_pb2.Service | None, labels: dict[str, str],
                                      annotations: dict[str, str], mirrored: bool) -> None:
    assert should_mirror(svc, endpoints([], labels, annotations)) is mirrored


def test_addresses_become_endpoints_with_only_a_ready_condition_grouped_by_ports_and_family() -> None:
    found = mirrored_endpoints(endpoints([
        {"addresses": [{"ip": "192.168.7.1", "hostname": "one", "nodeName": "w1"}],
         "notReadyAddresses": [{"ip": "192.168.7.2"}],
         "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
        {"addresses": [{"ip": "192.168.7.1"}, {"ip": "fd00::1"}],
         "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]},
    ]))
    http = (("http", 80, "TCP", None),)
    assert {key: [codec.encode(e) for e in eps] for key, eps in found.items()} == {
        ("IPv4", http): [{"addresses": ["192.168.7.1"], "conditions": {"ready": True}, "hostname": "one",
                          "nodeName": "w1"},
                         {"addresses": ["192.168.7.2"], "conditions": {"ready": False}}],
        ("IPv6", http): [{"addresses": ["fd00::1"], "conditions": {"ready": True}}],
    }


def test_at_most_1000_addresses_of_a_subset_are_mirrored() -> None:
    addresses = [{"ip": f"192.168.{n // 250}.{n % 250 + 1}"} for n in range(1200)]
    found = mirrored_endpoints(endpoints([{"addresses": addresses, "ports": [{"port": 80}]}]))
    assert sum(len(eps) for eps in found.values()) == 1000


def test_mirrored_slices_carry_the_endpoints_labels_and_annotations_and_are_owned_by_them() -> None:
    template = mirror_template(endpoints([], {"app": "ext"}, {"note": "x",
                                                             "kubectl.kubernetes.io/last-applied-configuration": "{}"}))
    assert dict(template.labels) == {"app": "ext", "kubernetes.io/service-name": "ext",
                                     "endpointslice.kubernetes.io/managed-by": "endpointslice"
                                                                               "mirroring-controller.k8s.io"}
    assert dict(template.annotations) == {"note": "x"}
    assert template.owner is not None and (template.owner.kind, template.owner.uid) == ("Endpoints", "ep-uid")
    assert template.generate_name == "ext-"


def test_the_tracker_holds_a_key_until_the_cache_has_seen_the_write() -> None:
    tracker = WriteTracker()
    assert tracker.caught_up("shop/web", "")
    tracker.wrote("shop/web", "41")
    tracker.wrote("shop/web", "40")
    assert not tracker.caught_up("shop/web", "40")
    assert tracker.caught_up("shop/other", "1")
    assert tracker.caught_up("shop/web", "41") and len(tracker) == 0


@pytest.mark.parametrize(("change", "matters"), [
    ({}, False),
    ({"ready": False}, True),
    ({"ip": "10.244.1.9"}, True),
    ({"labels": {"app": "db"}}, True),
    ({"deleting": True}, True),
    ({"phase": "Failed"}, True),
    ({"node": "w2"}, True),
    ({"hostname": "h", "subdomain": "web"}, True),
    ({"ports": [{"name": "web", "containerPort": 1}]}, True),
])
def test_which_pod_changes_concern_endpoints(change: dict[str, Any], matters: bool) -> None:
    before = pod("a", "10.244.1.2")
    after = pod("a", change.pop("ip", "10.244.1.2"), **change)
    after.status.container_statuses.add(name="c", restart_count=3)
    assert changed_for_endpoints(before, after) is matters
    assert changed_for_endpoints(None, after) and changed_for_endpoints(before, None)
