"""Cluster IPs and node ports for Services: keep what a Service already has, allocate what it lacks.

A write reserves addresses first and commits or rolls the reservation back once the store has
answered, so a refused or failed write leaves every allocation as it was.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from controlplane.api.errors import FieldError
from controlplane.api.v1 import core_pb2
from controlplane.apiserver.allocators import AllocationError, ClusterIPAllocator, PortAllocator

HEADLESS = "None"
_NODE_PORT_TYPES = ("NodePort", "LoadBalancer")


def wants_cluster_ip(spec: core_pb2.ServiceSpec) -> bool:
    return spec.type != "ExternalName" and spec.cluster_ip != HEADLESS


def wants_node_ports(spec: core_pb2.ServiceSpec) -> bool:
    if spec.type == "LoadBalancer":
        return not spec.HasField("allocate_load_balancer_node_ports") or spec.allocate_load_balancer_node_ports
    return spec.type == "NodePort"


def wants_health_check_port(spec: core_pb2.ServiceSpec) -> bool:
    return spec.type == "LoadBalancer" and spec.external_traffic_policy == "Local"


def _node_ports(spec: core_pb2.ServiceSpec) -> set[int]:
    ports = {p.node_port for p in spec.ports if p.node_port}
    if spec.health_check_node_port:
        ports.add(spec.health_check_node_port)
    return ports


@dataclass
class Reservation:
    """Allocations made for one write: undone by rollback(), or made final (with releases) by commit()."""

    undo: list[Callable[[], None]] = field(default_factory=list)
    release_on_commit: list[Callable[[], None]] = field(default_factory=list)

    def commit(self) -> None:
        for release in self.release_on_commit:
            release()
        self.undo.clear()
        self.release_on_commit.clear()

    def rollback(self) -> None:
        for undo in reversed(self.undo):
            undo()
        self.undo.clear()
        self.release_on_commit.clear()


@dataclass
class ServiceAllocations:
    cluster_ips: ClusterIPAllocator
    node_ports: PortAllocator

    def rebuild(self, services: Iterable[core_pb2.Service]) -> None:
        """Mark the addresses of every stored Service as taken (at start)."""
        self.cluster_ips.used.clear()
        self.node_ports.used.clear()
        for service in services:
            spec = service.spec
            if wants_cluster_ip(spec) and spec.cluster_ip and self.cluster_ips.contains(spec.cluster_ip):
                self.cluster_ips.used.add(ipaddress.IPv4Address(spec.cluster_ip))
            self.node_ports.used.update(
                p for p in _node_ports(spec) if self.node_ports.low <= p <= self.node_ports.high)

    def keep_allocated(self, new: core_pb2.ServiceSpec, old: core_pb2.ServiceSpec) -> None:
        """What Kubernetes calls patchAllocatedValues: an update that leaves out the cluster IP or a
        node port keeps the one already allocated (so re-applying a manifest changes nothing)."""
        if wants_cluster_ip(new) and wants_cluster_ip(old) and not new.cluster_ip and old.cluster_ip:
            new.cluster_ip = old.cluster_ip
            del new.cluster_ips[:]
            new.cluster_ips.extend(old.cluster_ips)
        if wants_node_ports(new) and wants_node_ports(old):
            for port in new.ports:
                if port.node_port:
                    continue
                for previous in old.ports:
                    if (previous.port, previous.protocol) == (port.port, port.protocol) or (
                            port.name and previous.name == port.name):
                        port.node_port = previous.node_port
                        break
        if wants_health_check_port(new) and wants_health_check_port(old) and not new.health_check_node_port:
            new.health_check_node_port = old.health_check_node_port

    def allocate(self, new: core_pb2.ServiceSpec, old: core_pb2.ServiceSpec | None) -> Reservation:
        """Fill in and reserve what `new` needs (AllocationFailed names the field when it cannot)."""
        reservation = Reservation()
        try:
            self._allocate_cluster_ip(new, old, reservation)
            self._allocate_node_ports(new, old, reservation)
        except AllocationFailed:
            reservation.rollback()
            raise
        return reservation

    def release(self, spec: core_pb2.ServiceSpec) -> None:
        """Free everything a deleted Service held."""
        if wants_cluster_ip(spec) and spec.cluster_ip:
            self.cluster_ips.release(spec.cluster_ip)
        for port in _node_ports(spec):
            self.node_ports.release(port)

    # ------------------------------------------------------------------------------------------

    def _allocate_cluster_ip(self, new: core_pb2.ServiceSpec, old: core_pb2.ServiceSpec | None,
                             reservation: Reservation) -> None:
        held = old.cluster_ip if old is not None and wants_cluster_ip(old) else ""
        if not wants_cluster_ip(new):
            if new.cluster_ip == HEADLESS and not new.cluster_ips:
                new.cluster_ips.append(HEADLESS)
            if held:
                reservation.release_on_commit.append(lambda: self.cluster_ips.release(held))
            return
        if not new.cluster_ip and new.cluster_ips:
            new.cluster_ip = new.cluster_ips[0]
        if new.cluster_ip and new.cluster_ip == held:
            return
        if new.cluster_ip:
            wanted = new.cluster_ip
            try:
                self.cluster_ips.reserve(wanted)
            except (AllocationError, ValueError) as error:
                raise AllocationFailed(FieldError.invalid(
                    "spec.clusterIPs", [wanted], f"failed to allocate IP {wanted}: {error}")) from None
        else:
            try:
                new.cluster_ip = self.cluster_ips.allocate()
            except AllocationError as error:
                raise AllocationFailed(FieldError.invalid("spec.clusterIPs", [], str(error))) from None
        ip = new.cluster_ip
        reservation.undo.append(lambda: self.cluster_ips.release(ip))
        if held:
            reservation.release_on_commit.append(lambda: self.cluster_ips.release(held))
        del new.cluster_ips[:]
        new.cluster_ips.append(ip)

    def _allocate_node_ports(self, new: core_pb2.ServiceSpec, old: core_pb2.ServiceSpec | None,
                             reservation: Reservation) -> None:
        held = _node_ports(old) if old is not None else set()
        if not wants_node_ports(new):
            for port in new.ports:
                port.node_port = 0
        if not wants_health_check_port(new):
            new.health_check_node_port = 0
        mine: set[int] = set()  # one Service may use one node port for TCP and UDP alike
        for index, port in enumerate(new.ports):
            if not wants_node_ports(new):
                break
            port.node_port = self._take(port.node_port, held, mine, reservation,
                                        f"spec.ports[{index}].nodePort")
        if wants_health_check_port(new):
            new.health_check_node_port = self._take(new.health_check_node_port, held, mine, reservation,
                                                    "spec.healthCheckNodePort")
        for gone in held - _node_ports(new):
            reservation.release_on_commit.append(functools.partial(self.node_ports.release, gone))

    def _take(self, wanted: int, held: set[int], mine: set[int], reservation: Reservation,
              path: str) -> int:
        if wanted and (wanted in held or wanted in mine):
            mine.add(wanted)
            return wanted
        try:
            if wanted:
                self.node_ports.reserve(wanted)
                port = wanted
            else:
                port = self.node_ports.allocate()
        except AllocationError as error:
            raise AllocationFailed(FieldError.invalid(path, wanted, str(error))) from None
        mine.add(port)
        reservation.undo.append(lambda: self.node_ports.release(port))
        return port


class AllocationFailed(Exception):
    def __init__(self, error: FieldError) -> None:
        super().__init__(str(error))
        self.error = error

