"""This DNS instance among the endpoints of the `kube-dns` Service, so that the service proxy sends
the cluster DNS address (10.96.0.10) to it. kubelab's DNS instances are daemons on the nodes, not
pods, so no controller can find them by a selector; each keeps its own entries instead:

- an EndpointSlice `kube-dns-<node>` of its own (labelled `kubernetes.io/service-name: kube-dns`,
  managed by `dns.kubelab.io`), which is what the proxy reads;
- its address in the `kube-dns` Endpoints object, which `klctl describe svc` and `get ep` show
  (labelled skip-mirror, as its slices are written directly).

Both are written once the instance answers, put back if someone removes them, and removed on a
clean stop (SIGTERM). An instance killed outright leaves them until it runs again.
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass

import structlog

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.v1 import core_pb2, discovery_pb2
from controlplane.client.api import ApiClient

log = structlog.get_logger("dns.registration")

MANAGED_BY = "dns.kubelab.io"
SERVICE_NAME_LABEL = "kubernetes.io/service-name"
MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by"
SKIP_MIRROR_LABEL = "endpointslice.kubernetes.io/skip-mirror"
ENDPOINTS = kinds.by_kind("Endpoints")
SLICE = kinds.by_kind("EndpointSlice")
PORTS = (("dns", "UDP"), ("dns-tcp", "TCP"))


@dataclass(frozen=True)
class Instance:
    namespace: str
    service: str
    node: str
    ip: str
    port: int

    @property
    def slice_name(self) -> str:
        return f"{self.service}-{self.node}"[:253]


def instance_slice(instance: Instance) -> discovery_pb2.EndpointSlice:
    """This instance's EndpointSlice (pure)."""
    family = "IPv6" if ipaddress.ip_address(instance.ip).version == 6 else "IPv4"
    eps = discovery_pb2.EndpointSlice(api_version="discovery.k8s.io/v1", kind="EndpointSlice", address_type=family)
    eps.metadata.name = instance.slice_name
    eps.metadata.namespace = instance.namespace
    eps.metadata.labels.update({SERVICE_NAME_LABEL: instance.service, MANAGED_BY_LABEL: MANAGED_BY})
    endpoint = eps.endpoints.add(addresses=[instance.ip], node_name=instance.node)
    endpoint.conditions.ready = True
    endpoint.conditions.serving = True
    endpoint.conditions.terminating = False
    for name, protocol in PORTS:
        eps.ports.add(name=name, port=instance.port, protocol=protocol)
    return eps


def with_instance(endpoints: core_pb2.Endpoints, instance: Instance, present: bool) -> None:
    """Add (or remove) this instance's address in the Endpoints' subset of its port (pure)."""
    endpoints.metadata.labels[SKIP_MIRROR_LABEL] = "true"
    ports = [(name, instance.port, protocol) for name, protocol in PORTS]
    subset = next((s for s in endpoints.subsets
                   if sorted((p.name, p.port, p.protocol) for p in s.ports) == sorted(ports)), None)
    if subset is None:
        if not present:
            return
        subset = endpoints.subsets.add()
        for name, port, protocol in ports:
            subset.ports.add(name=name, port=port, protocol=protocol)
    kept = [a for a in subset.addresses if a.ip != instance.ip]
    del subset.addresses[:]
    subset.addresses.extend(kept)
    if present:
        subset.addresses.add(ip=instance.ip, node_name=instance.node)
        subset.addresses.sort(key=lambda a: a.ip)
    if not subset.addresses and not subset.not_ready_addresses:
        endpoints.subsets.remove(subset)


class Registration:
    def __init__(self, client: ApiClient, instance: Instance, interval: float) -> None:
        self.client = client
        self.instance = instance
        self.interval = interval

    async def keep(self) -> None:
        """Register now, then look again every interval (level-triggered: a removed entry comes back)."""
        while True:
            try:
                await self.register()
            except ApiError as error:
                log.warning("dns.registration_failed", error=error.message)
            await asyncio.sleep(self.interval)

    async def register(self) -> None:
        await self._put_slice()
        await self._change_endpoints(present=True)

    async def unregister(self) -> None:
        instance = self.instance
        try:
            await self.client.delete(SLICE, instance.namespace, instance.slice_name)
        except ApiError as error:
            if error.reason is not Reason.NOT_FOUND:
                raise
        await self._change_endpoints(present=False)
        log.info("dns.unregistered", service=f"{instance.namespace}/{instance.service}", address=instance.ip)

    async def _put_slice(self) -> None:
        wanted = instance_slice(self.instance)
        try:
            current = await self.client.get(SLICE, self.instance.namespace, self.instance.slice_name)
        except ApiError as error:
            if error.reason is not Reason.NOT_FOUND:
                raise
            await self.client.create(wanted)
            log.info("dns.registered", slice=self.instance.slice_name, address=self.instance.ip)
            return
        wanted.metadata.resource_version = current.metadata.resource_version  # type: ignore[attr-defined]
        await self.client.update(wanted)  # an unchanged object writes nothing

    async def _change_endpoints(self, present: bool) -> None:
        instance = self.instance
        while True:
            try:
                current = await self.client.get(ENDPOINTS, instance.namespace, instance.service)
            except ApiError as error:
                if error.reason is not Reason.NOT_FOUND:
                    raise
                if not present:
                    return
                made = core_pb2.Endpoints(api_version="v1", kind="Endpoints")
                made.metadata.name, made.metadata.namespace = instance.service, instance.namespace
                with_instance(made, instance, True)
                try:
                    await self.client.create(made)
                    return
                except ApiError as create_error:
                    if create_error.reason is not Reason.ALREADY_EXISTS:
                        raise
                    continue
            assert isinstance(current, core_pb2.Endpoints)
            before = current.SerializeToString(deterministic=True)
            with_instance(current, instance, present)
            if current.SerializeToString(deterministic=True) == before:
                return
            try:
                await self.client.update(current)
                return
            except ApiError as error:
                if error.reason is not Reason.CONFLICT:
                    raise
