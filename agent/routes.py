"""Routes to the other nodes' pod ranges, kept in step with the Node objects (podCIDR via InternalIP)."""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable

import structlog

from agent.network import NetworkError, PodNetwork
from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.v1 import core_pb2
from controlplane.client import ApiClient

log = structlog.get_logger("agent.routes")

NODE = kinds.by_kind("Node")


def internal_ip(node: core_pb2.Node) -> str:
    return next((a.address for a in node.status.addresses if a.type == "InternalIP"), "")


def routes_to_others(nodes: Iterable[core_pb2.Node], me: str) -> dict[ipaddress.IPv4Network, str]:
    """podCIDR -> InternalIP of every other node that has both. Pure."""
    routes = {}
    for node in nodes:
        address = internal_ip(node)
        if node.metadata.name == me or not node.spec.pod_cidr or not address:
            continue
        routes[ipaddress.IPv4Network(node.spec.pod_cidr)] = address
    return routes


async def follow_node_routes(client: ApiClient, network: PodNetwork, me: str) -> None:
    applied: dict[ipaddress.IPv4Network, str] | None = None

    async def apply(nodes: dict[str, core_pb2.Node]) -> None:
        nonlocal applied
        wanted = routes_to_others(nodes.values(), me)
        while wanted != applied:
            try:
                await network.set_routes(wanted)
            except NetworkError as error:
                # `ip` itself can fail (seen: a crash while dumping routes that changed meanwhile):
                # try again rather than leave this node without routes, or take the agent down.
                log.warning("routes.not_updated", error=str(error))
                await asyncio.sleep(1)
                continue
            applied = wanted
            log.info("routes.updated", routes={str(k): v for k, v in wanted.items()})

    while True:
        try:
            items, version = await client.list(NODE)
            nodes = {n.metadata.name: n for n in items if isinstance(n, core_pb2.Node)}
            await apply(nodes)
            async for event in client.watch(NODE, resource_version=version):
                node = event.object
                if event.type == "BOOKMARK" or not isinstance(node, core_pb2.Node):
                    continue
                if event.type == "DELETED":
                    nodes.pop(node.metadata.name, None)
                else:
                    nodes[node.metadata.name] = node
                await apply(nodes)
        except ApiError as error:
            if error.reason not in (Reason.EXPIRED, Reason.UNAVAILABLE):
                raise
            await asyncio.sleep(1)
