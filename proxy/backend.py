"""What a proxy mode implements: take the routes that changed and make the data path follow."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from proxy.model import ServicePortName
from proxy.routing import Route
from proxy.state import RouteChanges


@dataclass(frozen=True, slots=True)
class NodeView:
    """What the backends need to know of the nodes."""

    node_addresses: frozenset[str] = frozenset()  # every node's addresses
    pod_cidr: str = ""  # this node's pod range ("" while unknown)


class Backend(Protocol):
    async def start(self) -> None:
        """Set up the mode's fixed parts (replacing what a killed proxy left)."""

    async def apply(self, changes: RouteChanges, routes: Mapping[ServicePortName, Route], view: NodeView) -> None:
        """Make the data path follow `changes` (routes is every current route, after the changes)."""

    def needs_retry(self) -> bool:
        """Whether part of the last apply could not be done (a port in use) and should be tried again."""

    async def stop(self) -> None:
        """Remove everything the mode made."""
