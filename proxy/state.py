"""The routes of every service port, kept current one service at a time (pure).

Watch handlers only mark a service dirty (`Changes.mark`); the sync loop then asks `ProxyState` to
recompute the dirty services from the caches and gets back only the service ports whose route
changed (None for a port that is gone), which is what a backend reprograms. A change to one service
thus touches nothing of another.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from controlplane.api.timestamps import epoch
from controlplane.api.v1 import core_pb2, discovery_pb2
from proxy.model import TRIGGER_TIME_ANNOTATION, ServicePortName, port_endpoints, service_ports
from proxy.routing import Route, route

RouteChanges = Mapping[ServicePortName, Route | None]


@dataclass
class ProxyState:
    node_name: str
    routes: dict[ServicePortName, Route] = field(default_factory=dict)
    _ports_of: dict[str, set[ServicePortName]] = field(default_factory=dict)

    def update(self, key: str, service: core_pb2.Service | None,
               slices: Iterable[discovery_pb2.EndpointSlice]) -> dict[ServicePortName, Route | None]:
        """Recompute service `key` ("namespace/name") from its object (None when deleted) and slices;
        the service ports whose route changed."""
        fresh: dict[ServicePortName, Route] = {}
        if service is not None:
            every = list(slices)
            for port in service_ports(service):
                fresh[port.name] = route(port, port_endpoints(port.name, every), self.node_name)
        changes: dict[ServicePortName, Route | None] = {}
        for name in self._ports_of.get(key, set()) - fresh.keys():
            changes[name] = None
            del self.routes[name]
        for name, new in fresh.items():
            if self.routes.get(name) != new:
                changes[name] = new
                self.routes[name] = new
        if fresh:
            self._ports_of[key] = set(fresh)
        else:
            self._ports_of.pop(key, None)
        return changes

    def of_service(self, key: str) -> list[Route]:
        return [self.routes[name] for name in sorted(self._ports_of.get(key, ()))]


@dataclass
class Changes:
    """Services to recompute, and when the changes they reflect were triggered (for the programming
    latency: Kubernetes' last-change-trigger-time annotation of EndpointSlices)."""

    dirty: set[str] = field(default_factory=set)
    triggers: list[float] = field(default_factory=list)
    _seen_triggers: dict[str, str] = field(default_factory=dict)  # slice key -> annotation last counted

    def mark(self, service_key: str) -> None:
        if service_key:
            self.dirty.add(service_key)

    def slice_changed(self, slice_key: str, service_key: str, annotations: Mapping[str, str] | None) -> None:
        self.mark(service_key)
        text = (annotations or {}).get(TRIGGER_TIME_ANNOTATION, "")
        if not text:
            return
        if self._seen_triggers.get(slice_key) == text:
            return  # the same change seen again (a relist): counted once
        self._seen_triggers[slice_key] = text
        when = epoch(text)  # RFC 3339 with up to nanoseconds, as Kubernetes writes it
        if when is not None:
            self.triggers.append(when)

    def slice_deleted(self, slice_key: str, service_key: str) -> None:
        self._seen_triggers.pop(slice_key, None)
        self.mark(service_key)

    def take(self) -> tuple[set[str], list[float]]:
        dirty, triggers = self.dirty, self.triggers
        self.dirty, self.triggers = set(), []
        return dirty, triggers

    def __bool__(self) -> bool:
        return bool(self.dirty)
