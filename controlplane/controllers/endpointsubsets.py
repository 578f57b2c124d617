"""The Endpoints object a Service with a selector should have (pure), as Kubernetes' endpoints
controller computes it: every selected pod with an address, ready ones in `addresses` and the
others in `notReadyAddresses` (all in `addresses` with publishNotReadyAddresses), each service port
resolved on each pod, then repacked so that addresses serving the same ports share a subset.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from controlplane.api.timestamps import format_time, parse_time
from controlplane.api.v1 import core_pb2
from controlplane.controllers import podendpoints

HEADLESS_LABEL = "service.kubernetes.io/headless"
OVER_CAPACITY_ANNOTATION = "endpoints.kubernetes.io/over-capacity"
# When the change of a pod or the Service that led to this version happened; it also marks the
# Endpoints as this controller's, so that one left behind by a Service deleted while the controller
# was down is recognised and removed.
TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"
TRUNCATED = "truncated"
MAX_ADDRESSES = 1000  # Kubernetes' maxCapacity of one Endpoints object

# (name, port, protocol, appProtocol); None stands for "no ports" (a headless service without any).
PortKey = tuple[str, int, str, str | None] | None
AddressKey = tuple[str, str]  # (ip, target uid)


def _port_key(port: core_pb2.EndpointPort) -> PortKey:
    return (port.name, port.port, port.protocol, port.app_protocol if port.HasField("app_protocol") else None)


def _endpoint_port(key: PortKey) -> core_pb2.EndpointPort:
    assert key is not None
    name, number, protocol, app_protocol = key
    port = core_pb2.EndpointPort(name=name, port=number, protocol=protocol)
    if app_protocol is not None:
        port.app_protocol = app_protocol
    return port


def _address_key(address: core_pb2.EndpointAddress) -> AddressKey:
    return (address.ip, address.target_ref.uid)


def pod_address(pod: core_pb2.Pod, service: core_pb2.Service) -> core_pb2.EndpointAddress:
    ips = podendpoints.pod_ips(pod)
    ip = next((candidate for candidate in ips if ":" not in candidate), ips[0])
    address = core_pb2.EndpointAddress(ip=ip, hostname=podendpoints.hostname_for(pod, service),
                                       target_ref=podendpoints.pod_reference(pod))
    if pod.spec.node_name:
        address.node_name = pod.spec.node_name
    return address


def service_subsets(service: core_pb2.Service, pods: Iterable[core_pb2.Pod]) -> list[core_pb2.EndpointSubset]:
    """The subsets of the Service's Endpoints, repacked and sorted (so equal inputs give equal output)."""
    publish = service.spec.publish_not_ready_addresses
    headless_without_ports = podendpoints.is_headless(service) and not service.spec.ports
    single: list[core_pb2.EndpointSubset] = []
    for pod in pods:
        if not podendpoints.selects(service.spec.selector, pod.metadata.labels):
            continue
        if not podendpoints.belongs_in_endpoints(pod, include_terminating=publish):
            continue
        address = pod_address(pod, service)
        ready = publish or podendpoints.is_ready(pod)
        ports: list[core_pb2.EndpointPort] = []
        if not headless_without_ports:
            for service_port in service.spec.ports:
                number = podendpoints.find_port(pod, service_port)
                if number is None:
                    continue
                port = core_pb2.EndpointPort(name=service_port.name, port=number,
                                             protocol=service_port.protocol or "TCP")
                if service_port.app_protocol:
                    port.app_protocol = service_port.app_protocol
                ports.append(port)
            if not ports:
                continue  # the pod offers none of the service's ports
        subset = core_pb2.EndpointSubset(ports=ports)
        (subset.addresses if ready else subset.not_ready_addresses).append(address)
        single.append(subset)
    return repack(single)


def repack(subsets: Sequence[core_pb2.EndpointSubset]) -> list[core_pb2.EndpointSubset]:
    """Kubernetes' RepackSubsets: one subset per distinct set of addresses, with every port those
    addresses share; an address ready on a port anywhere is ready on it. Sorted."""
    addresses: dict[AddressKey, core_pb2.EndpointAddress] = {}
    by_port: dict[PortKey, dict[AddressKey, bool]] = {}
    for subset in subsets:
        keys: list[PortKey] = [_port_key(port) for port in subset.ports] or [None]
        for key in keys:
            served = by_port.setdefault(key, {})
            for ready, listed in ((True, subset.addresses), (False, subset.not_ready_addresses)):
                for address in listed:
                    address_key = _address_key(address)
                    addresses.setdefault(address_key, address)
                    served[address_key] = served.get(address_key, False) or ready
    groups: dict[tuple[tuple[AddressKey, bool], ...], list[PortKey]] = {}
    for port_key, served in by_port.items():
        groups.setdefault(tuple(sorted(served.items())), []).append(port_key)
    result = []
    for members, port_keys in groups.items():
        subset = core_pb2.EndpointSubset()
        for address_key, ready in members:
            (subset.addresses if ready else subset.not_ready_addresses).append(addresses[address_key])
        real_ports = sorted((key for key in port_keys if key is not None), key=_sortable_port)
        subset.ports.extend(_endpoint_port(key) for key in real_ports)
        result.append(subset)
    return sorted(result, key=_subset_order)


def _sortable_port(key: PortKey) -> tuple[str, int, str, str]:
    assert key is not None
    return (key[0], key[1], key[2], key[3] or "")


def _subset_order(subset: core_pb2.EndpointSubset) -> tuple[list[AddressKey], list[AddressKey], list[str]]:
    return ([_address_key(a) for a in subset.addresses], [_address_key(a) for a in subset.not_ready_addresses],
            [f"{p.name}/{p.port}/{p.protocol}" for p in subset.ports])


def truncate(subsets: list[core_pb2.EndpointSubset], capacity: int = MAX_ADDRESSES) -> bool:
    """Kubernetes' truncateEndpoints: beyond `capacity` addresses, drop not-ready ones first, then
    ready ones, each subset keeping its share. True when something was dropped."""
    total_ready = sum(len(s.addresses) for s in subsets)
    total_not_ready = sum(len(s.not_ready_addresses) for s in subsets)
    if total_ready + total_not_ready <= capacity:
        return False
    truncate_ready = total_ready > capacity
    room = capacity if truncate_ready else capacity - total_ready
    total = total_ready if truncate_ready else total_not_ready
    left = room
    for subset in subsets:
        count = len(subset.addresses) if truncate_ready else len(subset.not_ready_addresses)
        keep = min(math.ceil(count / total * room), left)
        if truncate_ready:
            del subset.not_ready_addresses[:]
            del subset.addresses[keep:]
        else:
            del subset.not_ready_addresses[keep:]
        left -= keep
    return True


def trigger_time(service: core_pb2.Service, pods: Iterable[core_pb2.Pod]) -> str:
    """The latest change among the Service and its pods that an endpoint shows: creation, a Ready
    transition, a deletion ("" when none is known)."""
    moments = [parse_time(service.metadata.creation_timestamp)]
    for pod in pods:
        if not podendpoints.selects(service.spec.selector, pod.metadata.labels):
            continue
        moments.append(parse_time(pod.metadata.creation_timestamp))
        moments.append(parse_time(pod.metadata.deletion_timestamp))
        moments.extend(parse_time(c.last_transition_time) for c in pod.status.conditions if c.type == "Ready")
    known = [moment for moment in moments if moment is not None]
    return format_time(max(known)) if known else ""


@dataclass(frozen=True)
class EndpointsPlan:
    """What to write: the object (created when `create`, else updated), or nothing when it is right."""

    endpoints: core_pb2.Endpoints | None
    create: bool = False


def plan_endpoints(service: core_pb2.Service, pods: Iterable[core_pb2.Pod],
                   current: core_pb2.Endpoints | None) -> EndpointsPlan:
    pods = list(pods)
    subsets = service_subsets(service, pods)
    truncated = truncate(subsets)
    wanted = core_pb2.Endpoints()
    if current is not None:
        wanted.CopyFrom(current)
    else:
        wanted.api_version, wanted.kind = "v1", "Endpoints"
        wanted.metadata.name = service.metadata.name
        wanted.metadata.namespace = service.metadata.namespace
    del wanted.subsets[:]
    wanted.subsets.extend(subsets)
    wanted.metadata.labels.clear()
    wanted.metadata.labels.update(service.metadata.labels)
    if service.spec.cluster_ip in ("", "None"):
        wanted.metadata.labels[HEADLESS_LABEL] = ""
    else:
        wanted.metadata.labels.pop(HEADLESS_LABEL, None)
    if truncated:
        wanted.metadata.annotations[OVER_CAPACITY_ANNOTATION] = TRUNCATED
    else:
        wanted.metadata.annotations.pop(OVER_CAPACITY_ANNOTATION, None)
    if current is not None and wanted == current:
        return EndpointsPlan(None)  # the trigger time changes only along with what it dates
    when = trigger_time(service, pods)
    if when:
        wanted.metadata.annotations[TRIGGER_TIME_ANNOTATION] = when
    else:
        wanted.metadata.annotations.pop(TRIGGER_TIME_ANNOTATION, None)
    return EndpointsPlan(wanted, create=current is None)
