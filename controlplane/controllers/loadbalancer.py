"""The load balancer controller: a `type: LoadBalancer` Service gets an address from the pool
(`--lb-pool`) in `status.loadBalancer.ingress`; the address is freed when the service is deleted or
stops being a LoadBalancer. The proxies then answer for it on the node network (proxy/announce.py).

Level-triggered: which addresses are taken is read from the other services' status in the watch
cache at every reconcile, so a restart loses nothing. `spec.loadBalancerIP` asks for one address;
a service with a `loadBalancerClass` belongs to another implementation and is left alone. Events
and their wording are Kubernetes' service controller's.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

import structlog

from controlplane.api import kinds
from controlplane.api.v1 import core_pb2
from controlplane.client import modify
from controlplane.client.informer import object_key, split_key
from controlplane.controllers.base import ControllerContext, QueueController
from controlplane.lbpool import AddressPool

log = structlog.get_logger("controller.loadbalancer")

SERVICE = kinds.by_kind("Service")


@dataclass(frozen=True, slots=True)
class Choice:
    address: str | None
    error: str = ""  # why there is none


def wants_address(service: core_pb2.Service) -> bool:
    return service.spec.type == "LoadBalancer" and not service.spec.load_balancer_class


def _held(service: core_pb2.Service) -> list[str]:
    return [entry.ip for entry in service.status.load_balancer.ingress if entry.ip]


def _claimed(service: core_pb2.Service) -> list[str]:
    """The addresses a service holds or asks for."""
    requested = service.spec.load_balancer_ip
    return [*_held(service), requested] if requested else _held(service)


def _seniority(service: core_pb2.Service) -> tuple[str, str, str]:
    meta = service.metadata
    return (meta.creation_timestamp, meta.namespace, meta.name)


def choose_address(service: core_pb2.Service, others: Iterable[core_pb2.Service], pool: AddressPool) -> Choice:
    """The address `service` should have (pure): the requested one, else the one it holds, else the
    lowest free one. An address two services claim stays with the older one."""
    mine = _seniority(service)
    taken: set[str] = set()
    senior: set[str] = set()  # held by an older service: `service` must give it up
    for other in others:
        if not wants_address(other) or object_key(other) == object_key(service):
            continue
        claimed = _claimed(other)
        taken.update(claimed)
        if _seniority(other) < mine:
            senior.update(claimed)
    requested = service.spec.load_balancer_ip
    if requested:
        try:
            ipaddress.IPv4Address(requested)
        except ValueError:
            return Choice(None, f"requested loadBalancerIP {requested!r} is not an IPv4 address")
        if requested not in pool:
            return Choice(None, f"requested loadBalancerIP {requested} is not in the pool {pool}")
        if requested in senior:
            return Choice(None, f"requested loadBalancerIP {requested} is already in use")
        return Choice(requested)  # a younger service holding it gives it up (see reconcile)
    for address in _held(service):
        if address in pool and address not in senior:
            return Choice(address)
    free = pool.first_free(taken)
    if free is None:
        return Choice(None, f"no address left in the pool {pool}")
    return Choice(free)


class LoadBalancerController(QueueController):
    name = "loadbalancer"

    def __init__(self, context: ControllerContext) -> None:
        super().__init__(context, workers=1)  # one worker: two services never get one address at once
        self.pool: AddressPool = context.config.lb_pool
        self.services = context.informers(SERVICE)
        self.services.add_handler(self._changed)
        self.events = context.recorder("service-controller")

    def _changed(self, old: core_pb2.Service | None, new: core_pb2.Service | None) -> None:
        current = new or old
        assert current is not None
        self.queue.add(object_key(current))
        # A deleted LoadBalancer, or one that gave up its address, may free one somebody waits for.
        if new is None or (old is not None and _held(old) and not _held(new)):
            for service in self.services.list():
                if wants_address(service) and not _held(service):
                    self.queue.add(object_key(service))

    async def reconcile(self, key: str) -> float | None:
        service = self.services.get_by_key(key)
        if service is None:
            return None
        if not wants_address(service):
            if _held(service) and not service.spec.load_balancer_class:
                await self._set(key, [])
                await self.events.record(service, "Normal", "DeletedLoadBalancer", "Deleted load balancer")
            return None
        choice = choose_address(service, self.services.list(), self.pool)
        if choice.address is None:
            if _held(service):
                await self._set(key, [])
            await self.events.record(service, "Warning", "SyncLoadBalancerFailed",
                                     f"Error syncing load balancer: failed to ensure load balancer: {choice.error}")
            return None
        if _held(service) == [choice.address]:
            return None
        await self.events.record(service, "Normal", "EnsuringLoadBalancer", "Ensuring load balancer")
        await self._set(key, [choice.address])
        log.info("loadbalancer.assigned", service=key, address=choice.address)
        await self.events.record(service, "Normal", "EnsuredLoadBalancer", "Ensured load balancer")
        for other in self.services.list():  # a younger holder of the address must move
            if object_key(other) != key and choice.address in _held(other):
                self.queue.add(object_key(other))
        return None

    async def _set(self, key: str, addresses: list[str]) -> None:
        namespace, name = split_key(key)

        def change(service: core_pb2.Service) -> None:
            del service.status.load_balancer.ingress[:]
            for address in addresses:
                service.status.load_balancer.ingress.add(ip=address, ip_mode="VIP")
            if not addresses:
                service.status.ClearField("load_balancer")

        await modify(self.client, SERVICE, namespace, name, change, status=True)
