"""Services and EndpointSlices as the proxy sees them: ports, addresses, policies, endpoints."""

from __future__ import annotations

from typing import Any

import pytest

from proxy.model import Endpoint, ServicePortName, port_endpoints, service_ports, slice_endpoints, slice_service_key
from tests.support.services import endpoint_slice, service


def test_a_clusterip_service_gives_one_port_per_spec_port_without_external_destinations() -> None:
    ports = service(ports=[{"name": "http", "port": 80}, {"name": "dns", "port": 53, "protocol": "UDP"}])
    found = service_ports(ports)
    assert [(p.name, p.cluster_ip, p.port, p.node_port) for p in found] == [
        (ServicePortName("default", "web", "http", "TCP"), "10.96.0.20", 80, 0),
        (ServicePortName("default", "web", "dns", "UDP"), "10.96.0.20", 53, 0)]
    assert not any(p.externally_accessible for p in found)


@pytest.mark.parametrize(("spec", "why"), [
    ({"clusterIP": "None"}, "headless"),
    ({"type": "ExternalName", "externalName": "example.com", "clusterIP": ""}, "ExternalName"),
    ({"ports": [{"name": "s", "port": 9, "protocol": "SCTP"}]}, "SCTP is not proxied"),
])
def test_services_the_proxy_does_not_forward_have_no_ports(spec: dict[str, Any], why: str) -> None:
    assert service_ports(service(**spec)) == [], why


def test_a_loadbalancer_has_node_ports_external_ips_and_its_ingress_ips_except_proxy_mode_ones() -> None:
    lb = service(type="LoadBalancer", externalIPs=["192.0.2.7"], externalTrafficPolicy="Local",
                 healthCheckNodePort=32000,
                 ports=[{"name": "http", "port": 80, "nodePort": 30080}],
                 status={"loadBalancer": {"ingress": [{"ip": "10.240.0.200"},
                                                      {"ip": "10.240.0.201", "ipMode": "Proxy"},
                                                      {"hostname": "lb.example"}]}})
    (found,) = service_ports(lb)
    assert (found.node_port, found.external_ips, found.load_balancer_ips) == (30080, ("192.0.2.7",), ("10.240.0.200",))
    assert found.external_local and found.health_check_node_port == 32000


def test_ingress_ips_of_a_service_that_is_no_longer_a_loadbalancer_are_ignored() -> None:
    (found,) = service_ports(service(status={"loadBalancer": {"ingress": [{"ip": "10.240.0.200"}]}}))
    assert found.load_balancer_ips == ()


@pytest.mark.parametrize(("affinity", "expected"), [
    ({}, 0),
    ({"sessionAffinity": "ClientIP"}, 10800),
    ({"sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 60}}}, 60),
    ({"sessionAffinity": "None"}, 0),
])
def test_client_ip_affinity_timeout_defaults_to_three_hours(affinity: dict[str, Any], expected: int) -> None:
    (found,) = service_ports(service(**affinity))
    assert found.affinity_seconds == expected


@pytest.mark.parametrize(("spec", "external_local", "internal_local"), [
    ({"type": "NodePort", "externalTrafficPolicy": "Local"}, True, False),
    ({"type": "NodePort", "externalTrafficPolicy": "Cluster"}, False, False),
    ({"internalTrafficPolicy": "Local"}, False, True),
    ({"externalIPs": ["192.0.2.1"], "externalTrafficPolicy": "Local"}, True, False),
])
def test_traffic_policies(spec: dict[str, Any], external_local: bool, internal_local: bool) -> None:
    (found,) = service_ports(service(**spec))
    assert (found.external_local, found.internal_local) == (external_local, internal_local)


@pytest.mark.parametrize(("conditions", "ready", "serving", "terminating"), [
    ({}, True, True, False),  # unset ready means ready; unset serving follows ready
    ({"ready": False}, False, False, False),
    ({"ready": False, "serving": True, "terminating": True}, False, True, True),
    ({"ready": True, "terminating": False}, True, True, False),
])
def test_endpoint_conditions_default_as_kubernetes_documents(conditions: dict[str, bool], ready: bool, serving: bool,
                                                             terminating: bool) -> None:
    piece = endpoint_slice("web-a", endpoints=[{"addresses": ["10.244.1.5"], "conditions": conditions,
                                                "nodeName": "worker1"}])
    assert slice_endpoints(piece, "http", "TCP") == [
        Endpoint("10.244.1.5", 3000, "worker1", ready=ready, serving=serving, terminating=terminating)]


def test_a_slice_port_matches_a_service_port_by_name_and_protocol() -> None:
    piece = endpoint_slice("web-a", endpoints=[{"addresses": ["10.244.1.5"]}],
                           ports=[{"name": "http", "port": 8080, "protocol": "TCP"},
                                  {"name": "dns", "port": 5353, "protocol": "UDP"}])
    assert [e.port for e in slice_endpoints(piece, "http", "TCP")] == [8080]
    assert [e.port for e in slice_endpoints(piece, "dns", "UDP")] == [5353]
    assert slice_endpoints(piece, "dns", "TCP") == []
    assert slice_endpoints(piece, "metrics", "TCP") == []


def test_only_ipv4_slices_and_the_first_address_of_an_endpoint_are_used() -> None:
    six = endpoint_slice("web-6", address_type="IPv6", endpoints=[{"addresses": ["fd00::1"]}])
    assert slice_endpoints(six, "http", "TCP") == []
    piece = endpoint_slice("web-a", endpoints=[{"addresses": ["10.244.1.5", "10.244.1.6"]}])
    assert [e.ip for e in slice_endpoints(piece, "http", "TCP")] == ["10.244.1.5"]


def test_an_endpoint_in_two_slices_counts_once_and_a_ready_copy_wins() -> None:
    first = endpoint_slice("web-a", endpoints=[{"addresses": ["10.244.1.5"], "conditions": {"ready": False}},
                                               {"addresses": ["10.244.2.5"]}])
    second = endpoint_slice("web-b", endpoints=[{"addresses": ["10.244.1.5"], "conditions": {"ready": True}}])
    found = port_endpoints(ServicePortName("default", "web", "http", "TCP"), [second, first])
    assert [(e.ip, e.ready) for e in found] == [("10.244.1.5", True), ("10.244.2.5", True)]


def test_a_slice_is_joined_to_its_service_by_the_service_name_label() -> None:
    assert slice_service_key(endpoint_slice("web-a", "web", "shop", endpoints=[])) == "shop/web"
    orphan = endpoint_slice("web-a", endpoints=[])
    del orphan.metadata.labels["kubernetes.io/service-name"]
    assert slice_service_key(orphan) == ""
