"""Cluster IPs and node ports: reserved, allocated, refused and released as Kubernetes does."""

import ipaddress
import random

import pytest

from controlplane.api.v1 import core_pb2
from controlplane.apiserver.allocators import AllocationError, ClusterIPAllocator, PortAllocator
from controlplane.apiserver.service_alloc import AllocationFailed, ServiceAllocations

CIDR = ipaddress.IPv4Network("10.96.0.0/12")


def _allocations() -> ServiceAllocations:
    return ServiceAllocations(ClusterIPAllocator(CIDR, random.Random(1)), PortAllocator(30000, 32767, random.Random(2)))


def _service(type_: str = "ClusterIP", cluster_ip: str = "", node_ports: tuple[int, ...] = (0,)) -> core_pb2.Service:
    service = core_pb2.Service()
    service.spec.type = type_
    service.spec.cluster_ip = cluster_ip
    for index, node_port in enumerate(node_ports):
        service.spec.ports.add(name=f"p{index}", port=80 + index, protocol="TCP", node_port=node_port)
    return service


def test_dynamic_cluster_ips_avoid_the_static_band() -> None:
    allocator = ClusterIPAllocator(CIDR, random.Random(0))
    for _ in range(200):
        assert int(ipaddress.IPv4Address(allocator.allocate())) > int(CIDR.network_address) + 256


@pytest.mark.parametrize(("address", "message"), [
    ("10.95.0.1", "not in the valid range. The range of valid IPs is 10.96.0.0/12"),
    ("10.96.0.0", "not in the valid range"),
    ("10.111.255.255", "not in the valid range"),
])
def test_cluster_ip_outside_the_range_is_refused(address: str, message: str) -> None:
    with pytest.raises(AllocationError, match=message):
        ClusterIPAllocator(CIDR).reserve(address)


def test_port_allocator_refuses_out_of_range_and_taken() -> None:
    ports = PortAllocator(30000, 32767)
    ports.reserve(30080)
    with pytest.raises(AllocationError, match="provided port is already allocated"):
        ports.reserve(30080)
    with pytest.raises(AllocationError, match="The range of valid ports is 30000-32767"):
        ports.reserve(80)


def test_port_allocator_fills_a_small_range_then_says_full() -> None:
    ports = PortAllocator(30000, 30002)
    assert sorted(ports.allocate() for _ in range(3)) == [30000, 30001, 30002]
    with pytest.raises(AllocationError, match="range is full"):
        ports.allocate()


def test_node_port_service_gets_an_ip_and_a_port_per_service_port() -> None:
    allocations = _allocations()
    service = _service("NodePort", node_ports=(0, 30080))
    allocations.allocate(service.spec, None).commit()
    assert CIDR.overlaps(ipaddress.IPv4Network(service.spec.cluster_ip + "/32"))
    assert list(service.spec.cluster_ips) == [service.spec.cluster_ip]
    assert 30000 <= service.spec.ports[0].node_port <= 32767
    assert service.spec.ports[1].node_port == 30080


def test_taken_node_port_is_refused_naming_the_field_and_nothing_stays_reserved() -> None:
    allocations = _allocations()
    allocations.allocate(_service("NodePort", node_ports=(30080,)).spec, None).commit()
    taken_before = set(allocations.node_ports.used), set(allocations.cluster_ips.used)
    second = _service("NodePort", cluster_ip="10.96.0.50", node_ports=(0, 30080))
    with pytest.raises(AllocationFailed) as refused:
        allocations.allocate(second.spec, None)
    assert str(refused.value.error) == \
        "spec.ports[1].nodePort: Invalid value: 30080: provided port is already allocated"
    assert (set(allocations.node_ports.used), set(allocations.cluster_ips.used)) == taken_before


def test_one_service_may_use_a_node_port_for_tcp_and_udp() -> None:
    allocations = _allocations()
    service = _service("NodePort", node_ports=(30053, 30053))
    service.spec.ports[1].protocol = "UDP"
    allocations.allocate(service.spec, None).commit()
    assert allocations.node_ports.used == {30053}


def test_update_keeps_allocated_values_when_the_manifest_leaves_them_out() -> None:
    allocations = _allocations()
    old = _service("NodePort")
    allocations.allocate(old.spec, None).commit()
    new = _service("NodePort")
    allocations.keep_allocated(new.spec, old.spec)
    reservation = allocations.allocate(new.spec, old.spec)
    reservation.commit()
    assert (new.spec.cluster_ip, new.spec.ports[0].node_port) == (old.spec.cluster_ip, old.spec.ports[0].node_port)
    assert len(allocations.node_ports.used) == 1 and len(allocations.cluster_ips.used) == 1


def test_changing_to_cluster_ip_releases_node_ports_on_commit_only() -> None:
    allocations = _allocations()
    old = _service("NodePort", node_ports=(30080,))
    allocations.allocate(old.spec, None).commit()
    new = _service("ClusterIP", cluster_ip=old.spec.cluster_ip)
    reservation = allocations.allocate(new.spec, old.spec)
    assert new.spec.ports[0].node_port == 0
    assert 30080 in allocations.node_ports.used, "still held until the write is committed"
    reservation.commit()
    assert 30080 not in allocations.node_ports.used


def test_headless_and_external_name_services_get_no_cluster_ip() -> None:
    allocations = _allocations()
    headless = _service(cluster_ip="None")
    allocations.allocate(headless.spec, None).commit()
    external = _service("ExternalName")
    allocations.allocate(external.spec, None).commit()
    assert list(headless.spec.cluster_ips) == ["None"]
    assert external.spec.cluster_ip == ""
    assert not allocations.cluster_ips.used


def test_rebuild_marks_stored_services_and_release_frees_them() -> None:
    allocations = _allocations()
    stored = _service("NodePort", cluster_ip="10.96.0.10", node_ports=(30080,))
    allocations.rebuild([stored])
    with pytest.raises(AllocationFailed):
        allocations.allocate(_service(cluster_ip="10.96.0.10").spec, None)
    allocations.release(stored.spec)
    allocations.allocate(_service("NodePort", cluster_ip="10.96.0.10", node_ports=(30080,)).spec, None).commit()
