"""What the userspace proxy listens on and which addresses it binds."""

from __future__ import annotations

from proxy.model import ServicePort, ServicePortName
from proxy.routing import route
from proxy.userspace.frontends import Binding, Frontend, frontends, merge_frontends, service_addresses
from tests.support.services import ep, port

NODE_IP = "10.240.0.11"
HERE, THERE = ep("10.244.1.2", "worker1"), ep("10.244.2.2", "worker2")


def test_a_service_with_endpoints_listens_on_its_cluster_ip_node_port_external_and_lb_ips() -> None:
    p = port(node_port=30080, external_ips=("192.0.2.9",), load_balancer_ips=("10.240.0.200",))
    found = frontends(route(p, [HERE], "worker1"), NODE_IP)
    assert found == {
        Frontend("10.96.0.20", 80, "TCP"): Binding(p.name, external=False),
        Frontend("192.0.2.9", 80, "TCP"): Binding(p.name, external=True),
        Frontend("10.240.0.200", 80, "TCP"): Binding(p.name, external=True),
        Frontend(NODE_IP, 30080, "TCP"): Binding(p.name, external=True),
    }


def test_a_service_without_endpoints_has_no_listener_so_clients_are_refused() -> None:
    assert frontends(route(port(node_port=30080), [], "worker1"), NODE_IP) == {}


def test_a_local_policy_without_local_endpoints_still_listens_for_pods_and_the_node() -> None:
    p = port(node_port=30080, external_local=True)
    assert Frontend(NODE_IP, 30080, "TCP") in frontends(route(p, [THERE], "worker1"), NODE_IP)


def test_an_internal_local_policy_without_local_endpoints_closes_the_cluster_ip() -> None:
    assert frontends(route(port(internal_local=True), [THERE], "worker1"), NODE_IP) == {}


def test_two_services_on_one_address_and_port_leave_it_to_the_first_by_name() -> None:
    a = ServicePort(ServicePortName("default", "a", "", "UDP"), "10.96.0.21", 53, external_ips=("192.0.2.9",))
    b = ServicePort(ServicePortName("default", "b", "", "UDP"), "10.96.0.22", 53, external_ips=("192.0.2.9",))
    merged, conflicts = merge_frontends({b.name: route(b, [HERE], "w"), a.name: route(a, [HERE], "w")}, NODE_IP)
    assert merged[Frontend("192.0.2.9", 53, "UDP")].name == a.name
    assert len(merged) == 3 and len(conflicts) == 1


def test_service_addresses_exclude_the_nodes_own_and_stay_while_the_service_has_no_endpoint() -> None:
    p = port(external_ips=("192.0.2.9", "10.240.0.12"), load_balancer_ips=("10.240.0.200",))
    assert service_addresses([route(p, [], "worker1")], {"10.240.0.11", "10.240.0.12"}) == {
        "10.96.0.20", "192.0.2.9", "10.240.0.200"}
