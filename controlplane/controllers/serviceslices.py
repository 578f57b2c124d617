"""The endpoints a Service with a selector should have in its EndpointSlices (pure), as Kubernetes'
EndpointSlice controller computes them: every selected pod with an address, terminating ones
included, each with its conditions (ready, serving, terminating), targetRef, nodeName and, for
StatefulSet-style pods, hostname; grouped by the ports the pod resolves the service's ports to.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from controlplane.api.v1 import core_pb2, discovery_pb2, meta_pb2
from controlplane.controllers import podendpoints
from controlplane.controllers.endpointsubsets import HEADLESS_LABEL
from controlplane.controllers.sliceplan import GroupKey, PortTuple, SliceTemplate

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
CONTROLLER_NAME = "endpointslice-controller.k8s.io"
RESERVED_LABELS = frozenset({SERVICE_NAME_LABEL, MANAGED_BY_LABEL, HEADLESS_LABEL})


def address_type(ip: str) -> str:
    return "IPv6" if ipaddress.ip_address(ip).version == 6 else "IPv4"


def slice_prefix(name: str) -> str:
    """`web-`: the generateName of a Service's slices (the name alone when the dash would not fit)."""
    return f"{name}-" if len(name) < 253 else name


def service_address_types(service: core_pb2.Service) -> list[str]:
    return [family for family in service.spec.ip_families if family in ("IPv4", "IPv6")] or ["IPv4"]


def pod_endpoint(pod: core_pb2.Pod, service: core_pb2.Service, ip: str) -> discovery_pb2.Endpoint:
    publish = service.spec.publish_not_ready_addresses
    serving = publish or podendpoints.is_ready(pod)
    terminating = podendpoints.is_terminating(pod)
    # "ready" is never true for a terminating pod, unless not-ready addresses are published.
    ready = publish or (serving and not terminating)
    endpoint = discovery_pb2.Endpoint(addresses=[ip], target_ref=podendpoints.pod_reference(pod))
    endpoint.conditions.ready = ready
    endpoint.conditions.serving = serving
    endpoint.conditions.terminating = terminating
    if pod.spec.node_name:
        endpoint.node_name = pod.spec.node_name
    hostname = podendpoints.hostname_for(pod, service)
    if hostname:
        endpoint.hostname = hostname
    return endpoint


def pod_ports(pod: core_pb2.Pod, service: core_pb2.Service) -> tuple[PortTuple, ...]:
    ports = []
    for port in service.spec.ports:
        number = podendpoints.find_port(pod, port)
        if number is not None:
            ports.append((port.name, number, port.protocol or "TCP", port.app_protocol or None))
    return tuple(ports)


def desired_endpoints(service: core_pb2.Service,
                      pods: Iterable[core_pb2.Pod]) -> dict[GroupKey, list[discovery_pb2.Endpoint]]:
    families = service_address_types(service)
    groups: dict[GroupKey, list[discovery_pb2.Endpoint]] = {}
    for pod in sorted(pods, key=lambda p: p.metadata.name):
        if not podendpoints.selects(service.spec.selector, pod.metadata.labels):
            continue
        if not podendpoints.belongs_in_endpoints(pod, include_terminating=True):
            continue
        ports = pod_ports(pod, service)
        for family in families:
            ip = next((candidate for candidate in podendpoints.pod_ips(pod) if address_type(candidate) == family),
                      None)
            if ip is not None:
                groups.setdefault((family, ports), []).append(pod_endpoint(pod, service, ip))
    return groups


def slice_labels(service: core_pb2.Service, managed_by: str = CONTROLLER_NAME) -> dict[str, str]:
    labels = {key: value for key, value in service.metadata.labels.items() if key not in RESERVED_LABELS}
    if service.spec.cluster_ip in ("", "None"):
        labels[HEADLESS_LABEL] = ""
    labels[SERVICE_NAME_LABEL] = service.metadata.name
    labels[MANAGED_BY_LABEL] = managed_by
    return labels


def controller_reference(api_version: str, kind: str, meta: meta_pb2.ObjectMeta) -> meta_pb2.OwnerReference:
    return meta_pb2.OwnerReference(api_version=api_version, kind=kind, name=meta.name, uid=meta.uid,
                                   controller=True, block_owner_deletion=True)


def slice_template(service: core_pb2.Service) -> SliceTemplate:
    meta = service.metadata
    return SliceTemplate(namespace=meta.namespace, generate_name=slice_prefix(meta.name),
                         labels=slice_labels(service), owner=controller_reference("v1", "Service", meta))
