"""What a fresh cluster has before anyone asks: the system namespaces, the `kubernetes` Service in
`default` with Endpoints and an EndpointSlice pointing at this API server (as Kubernetes' bootstrap
and endpoint reconciler do), and the cluster DNS Service `kube-dns` in `kube-system` at the service
range's tenth address (10.96.0.10, as kubeadm places it), whose endpoints the `kubelab dns`
instances keep themselves."""

from __future__ import annotations

import ipaddress

import structlog
from google.protobuf.message import Message

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.v1 import core_pb2, discovery_pb2
from controlplane.apiserver.registry import Registry

log = structlog.get_logger("apiserver.bootstrap")

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
DNS_SERVICE = "kube-dns"
DNS_NAMESPACE = "kube-system"
DNS_LABELS = {"k8s-app": "kube-dns", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "KubeDNS"}
# The API server writes the `kubernetes` slice itself, so its Endpoints are not mirrored.
SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror"


def dns_service_ip(service_cidr: ipaddress.IPv4Network) -> ipaddress.IPv4Address:
    """The cluster DNS address: the tenth of the service range (kubeadm's rule), 10.96.0.10 by default."""
    return service_cidr.network_address + 10


def dns_service(service_cidr: ipaddress.IPv4Network) -> core_pb2.Service:
    """`kube-dns` as kubeadm makes it, without a selector: kubelab's DNS instances are daemons on the
    nodes, not pods, and each keeps its own address among the Service's endpoints."""
    service = core_pb2.Service(api_version="v1", kind="Service")
    service.metadata.name = DNS_SERVICE
    service.metadata.namespace = DNS_NAMESPACE
    service.metadata.labels.update(DNS_LABELS)
    service.spec.cluster_ip = str(dns_service_ip(service_cidr))
    for name, protocol in (("dns", "UDP"), ("dns-tcp", "TCP")):
        port = service.spec.ports.add(name=name, port=53, protocol=protocol)
        port.target_port.int_val = 53
    return service


async def _create_if_missing(registry: Registry, obj: core_pb2.Namespace | core_pb2.Service) -> None:
    try:
        await registry.create(obj)
    except ApiError as error:
        if error.reason != Reason.ALREADY_EXISTS:
            raise


async def _create_or_replace(registry: Registry, obj: Message) -> None:
    try:
        await registry.create(obj)
    except ApiError as error:
        if error.reason != Reason.ALREADY_EXISTS:
            raise
        meta = obj.metadata  # type: ignore[attr-defined]
        current = await registry.get(kinds.of_message(obj), meta.namespace, meta.name)
        meta.resource_version = current.metadata.resource_version  # type: ignore[attr-defined]
        await registry.update(obj)


async def bootstrap(registry: Registry, service_cidr: ipaddress.IPv4Network, address: str, port: int) -> None:
    for name in SYSTEM_NAMESPACES:
        namespace = core_pb2.Namespace()
        namespace.metadata.name = name
        await _create_if_missing(registry, namespace)

    service = core_pb2.Service()
    service.metadata.name = "kubernetes"
    service.metadata.namespace = "default"
    service.metadata.labels.update({"component": "apiserver", "provider": "kubernetes"})
    service.spec.cluster_ip = str(service_cidr.network_address + 1)
    https = service.spec.ports.add(name="https", port=443, protocol="TCP")
    https.target_port.int_val = port
    await _create_if_missing(registry, service)

    endpoints = core_pb2.Endpoints()
    endpoints.metadata.name = "kubernetes"
    endpoints.metadata.namespace = "default"
    endpoints.metadata.labels[SKIP_MIRROR_LABEL] = "true"
    subset = endpoints.subsets.add()
    subset.addresses.add(ip=address)
    subset.ports.add(name="https", port=port, protocol="TCP")
    await _create_or_replace(registry, endpoints)

    endpoint_slice = discovery_pb2.EndpointSlice(address_type="IPv4")
    endpoint_slice.metadata.name = "kubernetes"
    endpoint_slice.metadata.namespace = "default"
    endpoint_slice.metadata.labels["kubernetes.io/service-name"] = "kubernetes"
    endpoint = endpoint_slice.endpoints.add(addresses=[address])
    endpoint.conditions.ready = True
    endpoint_slice.ports.add(name="https", port=port, protocol="TCP")
    await _create_or_replace(registry, endpoint_slice)

    try:
        await _create_if_missing(registry, dns_service(service_cidr))
    except ApiError as error:  # say why, but a taken address must not keep the API server down
        log.warning("bootstrap.no_dns_service", error=error.message)
