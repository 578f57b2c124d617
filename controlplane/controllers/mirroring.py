"""EndpointSlices mirrored from an Endpoints object that a user wrote for a Service without a
selector (pure), as Kubernetes' EndpointSliceMirroring controller does, so that readers of slices
alone (the service proxy, DNS) see those endpoints too.

Mirrored: Endpoints of an existing Service that has no selector, unless labelled
`endpointslice.kubernetes.io/skip-mirror: "true"` (as the API server labels the `kubernetes`
Service's, whose slice it writes itself). Each address becomes an endpoint whose only condition is
`ready` (true for `addresses`, false for `notReadyAddresses`), at most 1000 per subset.
"""

from __future__ import annotations

import ipaddress

from controlplane.api.v1 import core_pb2, discovery_pb2
from controlplane.controllers.serviceslices import (
    MANAGED_BY_LABEL,
    SERVICE_NAME_LABEL,
    controller_reference,
    slice_prefix,
)
from controlplane.controllers.sliceplan import EndpointId, GroupKey, PortTuple, SliceTemplate, endpoint_id

CONTROLLER_NAME = "endpointslicemirroring-controller.k8s.io"
SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror"
LEADER_ANNOTATION = "control-plane.alpha.kubernetes.io/leader"
MAX_PER_SUBSET = 1000  # Kubernetes' --mirroring-max-endpoints-per-subset
MAX_PER_SLICE = 1000
_DROPPED_ANNOTATIONS = frozenset({"endpoints.kubernetes.io/last-change-trigger-time",
                                  "kubectl.kubernetes.io/last-applied-configuration"})


def should_mirror(service: core_pb2.Service | None, endpoints: core_pb2.Endpoints | None) -> bool:
    if service is None or endpoints is None or service.spec.selector:
        return False
    if endpoints.metadata.labels.get(SKIP_MIRROR_LABEL) == "true":
        return False
    return LEADER_ANNOTATION not in endpoints.metadata.annotations


def _address_endpoint(address: core_pb2.EndpointAddress, ready: bool) -> tuple[str, discovery_pb2.Endpoint] | None:
    try:
        ip = ipaddress.ip_address(address.ip)
    except ValueError:
        return None
    endpoint = discovery_pb2.Endpoint(addresses=[str(ip)])
    endpoint.conditions.ready = ready
    if address.HasField("target_ref"):
        endpoint.target_ref.CopyFrom(address.target_ref)
    if address.HasField("node_name"):
        endpoint.node_name = address.node_name
    if address.hostname:
        endpoint.hostname = address.hostname
    return ("IPv6" if ip.version == 6 else "IPv4"), endpoint


def _ports(subset: core_pb2.EndpointSubset) -> tuple[PortTuple, ...]:
    return tuple((port.name, port.port, port.protocol or "TCP",
                  port.app_protocol if port.HasField("app_protocol") else None) for port in subset.ports)


def mirrored_endpoints(endpoints: core_pb2.Endpoints) -> dict[GroupKey, list[discovery_pb2.Endpoint]]:
    groups: dict[GroupKey, dict[EndpointId, discovery_pb2.Endpoint]] = {}
    for subset in endpoints.subsets:
        ports = _ports(subset)
        listed = [(address, True) for address in subset.addresses]
        listed += [(address, False) for address in subset.not_ready_addresses]
        for address, ready in listed[:MAX_PER_SUBSET]:
            made = _address_endpoint(address, ready)
            if made is None:
                continue
            family, endpoint = made
            groups.setdefault((family, ports), {}).setdefault(endpoint_id(endpoint), endpoint)
    return {key: list(found.values()) for key, found in groups.items()}


def mirror_template(endpoints: core_pb2.Endpoints) -> SliceTemplate:
    meta = endpoints.metadata
    labels = dict(meta.labels)
    labels[SERVICE_NAME_LABEL] = meta.name
    labels[MANAGED_BY_LABEL] = CONTROLLER_NAME
    annotations = {key: value for key, value in meta.annotations.items() if key not in _DROPPED_ANNOTATIONS}
    return SliceTemplate(namespace=meta.namespace, generate_name=slice_prefix(meta.name), labels=labels,
                         annotations=annotations, owner=controller_reference("v1", "Endpoints", meta))
