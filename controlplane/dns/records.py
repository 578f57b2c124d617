"""What the cluster's DNS names stand for, held in memory (pure data, no I/O): Services, the
endpoints their EndpointSlices list (slices of every manager, joined by the
`kubernetes.io/service-name` label), and namespaces. Watch handlers (cache.py) keep it current;
every query reads it, never the API.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from dataclasses import dataclass

from controlplane.api.v1 import core_pb2, discovery_pb2

SERVICE_NAME_LABEL = "kubernetes.io/service-name"

Port = tuple[str, int, str]  # (name, port, protocol)


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    namespace: str
    name: str
    cluster_ips: tuple[str, ...]  # empty for a headless or ExternalName Service
    headless: bool
    external_name: str  # set for type ExternalName
    ports: tuple[Port, ...]


@dataclass(frozen=True, slots=True)
class EndpointInfo:
    ip: str
    hostname: str  # the pod's hostname under a headless Service, else ""
    ready: bool
    ports: tuple[Port, ...]

    @property
    def name(self) -> str:
        """The endpoint's label under its Service: its hostname, or its address with dashes."""
        return self.hostname or dashed(self.ip)


def dashed(ip: str) -> str:
    return ip.replace(".", "-").replace(":", "-")


def service_info(service: core_pb2.Service) -> ServiceInfo:
    spec = service.spec
    external_name = spec.external_name if spec.type == "ExternalName" else ""
    headless = spec.cluster_ip == "None"
    ips: tuple[str, ...] = ()
    if not external_name and not headless:
        ips = tuple(ip for ip in (spec.cluster_ips or [spec.cluster_ip]) if ip and ip != "None")
    ports = tuple((port.name, port.port, port.protocol or "TCP") for port in spec.ports)
    return ServiceInfo(service.metadata.namespace, service.metadata.name, ips, headless, external_name, ports)


def slice_endpoints(eps: discovery_pb2.EndpointSlice) -> tuple[str, tuple[EndpointInfo, ...]]:
    """(the Service it belongs to, its endpoints); an endpoint without a ready condition counts as ready."""
    service = eps.metadata.labels.get(SERVICE_NAME_LABEL, "")
    if eps.address_type not in ("IPv4", "IPv6"):
        return service, ()
    ports = tuple((port.name, port.port, port.protocol or "TCP") for port in eps.ports if port.HasField("port"))
    found = []
    for endpoint in eps.endpoints:
        ready = endpoint.conditions.ready if endpoint.conditions.HasField("ready") else True
        hostname = endpoint.hostname if endpoint.HasField("hostname") else ""
        for address in endpoint.addresses:
            found.append(EndpointInfo(address, hostname, ready, ports))
    return service, tuple(found)


class ClusterRecords:
    def __init__(self) -> None:
        self.services: dict[tuple[str, str], ServiceInfo] = {}
        self.namespaces: set[str] = set()
        # (namespace, service) -> slice name -> endpoints
        self._endpoints: dict[tuple[str, str], dict[str, tuple[EndpointInfo, ...]]] = {}
        self._slice_owner: dict[tuple[str, str], str] = {}  # (namespace, slice) -> service
        self._by_cluster_ip: dict[str, tuple[str, str]] = {}
        # The SOA serial: when the records last changed (seconds), as CoreDNS reports it.
        self.serial = 0

    # ------------------------------------------------------------------ writing (from watch handlers)

    def changed(self, now: float) -> None:
        self.serial = max(self.serial + 1, int(now)) & 0xFFFFFFFF

    def put_service(self, info: ServiceInfo) -> None:
        self.delete_service(info.namespace, info.name)
        self.services[(info.namespace, info.name)] = info
        for ip in info.cluster_ips:
            self._by_cluster_ip[ip] = (info.namespace, info.name)

    def delete_service(self, namespace: str, name: str) -> None:
        old = self.services.pop((namespace, name), None)
        if old is not None:
            for ip in old.cluster_ips:
                if self._by_cluster_ip.get(ip) == (namespace, name):
                    del self._by_cluster_ip[ip]

    def put_slice(self, namespace: str, name: str, service: str, endpoints: tuple[EndpointInfo, ...]) -> None:
        self.delete_slice(namespace, name)
        if not service:
            return
        self._slice_owner[(namespace, name)] = service
        self._endpoints.setdefault((namespace, service), {})[name] = endpoints

    def delete_slice(self, namespace: str, name: str) -> None:
        service = self._slice_owner.pop((namespace, name), None)
        if service is None:
            return
        slices = self._endpoints.get((namespace, service), {})
        slices.pop(name, None)
        if not slices:
            self._endpoints.pop((namespace, service), None)

    # ------------------------------------------------------------------ reading (per query)

    def service(self, namespace: str, name: str) -> ServiceInfo | None:
        return self.services.get((namespace, name))

    def endpoints(self, namespace: str, service: str) -> list[EndpointInfo]:
        """Every endpoint of the Service's slices, each address once (the first slice's word wins)."""
        seen: dict[tuple[str, str, tuple[Port, ...]], EndpointInfo] = {}
        for name in sorted(self._endpoints.get((namespace, service), {})):
            for endpoint in self._endpoints[(namespace, service)][name]:
                seen.setdefault((endpoint.ip, endpoint.hostname, endpoint.ports), endpoint)
        return list(seen.values())

    def service_for_cluster_ip(self, ip: str) -> ServiceInfo | None:
        key = self._by_cluster_ip.get(ip)
        return self.services.get(key) if key else None

    def endpoints_with_ip(self, ip: str) -> Iterator[tuple[str, str, EndpointInfo]]:
        """(namespace, service, endpoint) for every ready endpoint at `ip` (for reverse lookups)."""
        for (namespace, service), slices in sorted(self._endpoints.items()):
            for name in sorted(slices):
                for endpoint in slices[name]:
                    if endpoint.ip == ip and endpoint.ready:
                        yield namespace, service, endpoint


def is_ipv4(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False
