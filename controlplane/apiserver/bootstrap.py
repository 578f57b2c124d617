"""What a fresh cluster has before anyone asks: the system namespaces, and the `kubernetes`
Service in `default` with Endpoints pointing at this API server (as Kubernetes' bootstrap does)."""

from __future__ import annotations

import ipaddress

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.v1 import core_pb2
from controlplane.apiserver.registry import Registry

SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


async def _create_if_missing(registry: Registry, obj: core_pb2.Namespace | core_pb2.Service) -> None:
    try:
        await registry.create(obj)
    except ApiError as error:
        if error.reason != Reason.ALREADY_EXISTS:
            raise


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
    subset = endpoints.subsets.add()
    subset.addresses.add(ip=address)
    subset.ports.add(name="https", port=port, protocol="TCP")
    try:
        await registry.create(endpoints)
    except ApiError as error:
        if error.reason != Reason.ALREADY_EXISTS:
            raise
        current = await registry.get(kinds.by_kind("Endpoints"), "default", "kubernetes")
        endpoints.metadata.resource_version = current.metadata.resource_version  # type: ignore[attr-defined]
        await registry.update(endpoints)
