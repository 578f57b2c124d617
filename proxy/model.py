"""What the proxy knows about services and their endpoints, as plain values (pure).

A Service becomes one `ServicePort` per entry of `spec.ports`; the EndpointSlices of the service
(joined by the `kubernetes.io/service-name` label, as kube-proxy does) give each port its
`Endpoint`s: the slice port with the same name and protocol, every endpoint's first address (the
addresses of one endpoint are interchangeable), its conditions and node. Nothing here does I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from controlplane.api.v1 import core_pb2, discovery_pb2

SERVICE_NAME_LABEL = "kubernetes.io/service-name"
# Set by the endpoints controller (and by the bench) to when the change that the slice reflects
# happened; the proxy measures its network programming latency from it, as kube-proxy does.
TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time"
PROTOCOLS = ("TCP", "UDP")
DEFAULT_AFFINITY_SECONDS = 10800  # Kubernetes' DefaultClientIPServiceAffinitySeconds


@dataclass(frozen=True, slots=True, order=True)
class ServicePortName:
    """A service port by its service and port name ("" for an unnamed single port)."""

    namespace: str
    name: str
    port: str
    protocol: str

    @property
    def service(self) -> str:
        return f"{self.namespace}/{self.name}"

    def __str__(self) -> str:
        return f"{self.namespace}/{self.name}:{self.port}" if self.port else f"{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class ServicePort:
    name: ServicePortName
    cluster_ip: str
    port: int
    node_port: int = 0
    external_ips: tuple[str, ...] = ()
    load_balancer_ips: tuple[str, ...] = ()
    # ClientIP session affinity: seconds a client stays with its endpoint; 0 = no affinity.
    affinity_seconds: int = 0
    external_local: bool = False  # externalTrafficPolicy: Local
    internal_local: bool = False  # internalTrafficPolicy: Local
    health_check_node_port: int = 0

    @property
    def protocol(self) -> str:
        return self.name.protocol

    @property
    def addresses(self) -> tuple[str, ...]:
        """Every address the port is served at (its node port is on the nodes' addresses)."""
        return (self.cluster_ip, *self.external_ips, *self.load_balancer_ips)

    @property
    def externally_accessible(self) -> bool:
        """Reached through a node port, an external IP or a load balancer (external traffic)."""
        return bool(self.node_port or self.external_ips or self.load_balancer_ips)

    @property
    def uses_cluster_endpoints(self) -> bool:
        return not self.internal_local or (self.externally_accessible and not self.external_local)

    @property
    def uses_local_endpoints(self) -> bool:
        return self.internal_local or (self.externally_accessible and self.external_local)


@dataclass(frozen=True, slots=True, order=True)
class Endpoint:
    ip: str
    port: int
    node_name: str = ""
    ready: bool = True
    serving: bool = True
    terminating: bool = False

    def __str__(self) -> str:
        return f"{self.ip}:{self.port}"


def _ipv4(text: str) -> str | None:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        return None


def service_ports(service: core_pb2.Service) -> list[ServicePort]:
    """The proxied ports of a Service: none for a headless or ExternalName service (which kube-proxy
    skips), nor for SCTP ports (this proxy forwards TCP and UDP)."""
    spec = service.spec
    cluster_ip = _ipv4(spec.cluster_ip)
    if spec.type == "ExternalName" or cluster_ip is None:
        return []
    affinity = 0
    if spec.session_affinity == "ClientIP":
        config = spec.session_affinity_config.client_ip
        affinity = config.timeout_seconds if config.HasField("timeout_seconds") else DEFAULT_AFFINITY_SECONDS
    external_ips = tuple(ip for ip in (_ipv4(text) for text in spec.external_ips) if ip)
    lb_ips: tuple[str, ...] = ()
    if spec.type == "LoadBalancer":
        # An ingress with ipMode Proxy is reached through the load balancer itself, not captured here.
        lb_ips = tuple(ip for ip in (_ipv4(entry.ip) for entry in service.status.load_balancer.ingress
                                     if entry.ip_mode != "Proxy") if ip)
    node_ports = spec.type in ("NodePort", "LoadBalancer")
    external_local = spec.external_traffic_policy == "Local" and (node_ports or bool(external_ips) or bool(lb_ips))
    result = []
    for port in spec.ports:
        protocol = port.protocol or "TCP"
        if protocol not in PROTOCOLS:
            continue
        result.append(ServicePort(
            name=ServicePortName(service.metadata.namespace, service.metadata.name, port.name, protocol),
            cluster_ip=cluster_ip, port=port.port, node_port=port.node_port if node_ports else 0,
            external_ips=external_ips, load_balancer_ips=lb_ips, affinity_seconds=affinity,
            external_local=external_local,
            internal_local=spec.internal_traffic_policy == "Local",
            health_check_node_port=spec.health_check_node_port if spec.type == "LoadBalancer" else 0))
    return result


def _condition(endpoint: discovery_pb2.Endpoint, name: str, default: bool) -> bool:
    conditions = endpoint.conditions
    return getattr(conditions, name) if conditions.HasField(name) else default


def slice_endpoints(endpoint_slice: discovery_pb2.EndpointSlice, port_name: str, protocol: str) -> list[Endpoint]:
    """The endpoints a slice gives one service port (matched by port name and protocol).

    As Kubernetes documents the conditions: an unset `ready` means ready, an unset `serving` means
    the same as `ready`, an unset `terminating` means not terminating."""
    if endpoint_slice.address_type != "IPv4":
        return []
    for slice_port in endpoint_slice.ports:
        if slice_port.name == port_name and (slice_port.protocol or "TCP") == protocol and slice_port.HasField("port"):
            number = slice_port.port
            break
    else:
        return []
    found = []
    for endpoint in endpoint_slice.endpoints:
        ip = _ipv4(endpoint.addresses[0]) if endpoint.addresses else None
        if ip is None:
            continue
        ready = _condition(endpoint, "ready", True)
        found.append(Endpoint(ip=ip, port=number, node_name=endpoint.node_name,
                              ready=ready, serving=_condition(endpoint, "serving", ready),
                              terminating=_condition(endpoint, "terminating", False)))
    return found


def port_endpoints(port: ServicePortName, slices: Iterable[discovery_pb2.EndpointSlice]) -> tuple[Endpoint, ...]:
    """Every endpoint of a service port over all its slices, one per address:port (a ready one wins
    over a duplicate that is not), in a stable order."""
    chosen: dict[tuple[str, int], Endpoint] = {}
    for endpoint_slice in sorted(slices, key=lambda s: s.metadata.name):
        for endpoint in slice_endpoints(endpoint_slice, port.port, port.protocol):
            key = (endpoint.ip, endpoint.port)
            held = chosen.get(key)
            if held is None or (endpoint.ready and not held.ready):
                chosen[key] = endpoint
    return tuple(sorted(chosen.values()))


def slice_service_key(endpoint_slice: discovery_pb2.EndpointSlice) -> str:
    """`namespace/name` of the service a slice belongs to, "" when it names none."""
    name = endpoint_slice.metadata.labels.get(SERVICE_NAME_LABEL, "")
    return f"{endpoint_slice.metadata.namespace}/{name}" if name else ""
