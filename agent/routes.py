"""Routes to the other nodes' pod ranges (podCIDR via the node's address), from two sources:

- the gossip cluster: every agent tags itself with its pod CIDR, so a route appears the moment a
  node joins and follows it when it moves, with no round trip through the store (and while the
  API server is away);
- the Node objects (spec.podCIDR via the InternalIP), the fallback for nodes that gossip does not
  vouch for: not yet joined, dead or left (their route stays while the Node exists, as it did
  before gossip), or whose agent runs without gossip.

For each node the live gossip member wins; the API fills in the rest.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable, Mapping

import structlog

from agent.gossip.memberlist import Memberlist
from agent.gossip.state import Member
from agent.membership import POD_CIDR_TAG
from agent.network import NetworkError, PodNetwork
from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.v1 import core_pb2
from controlplane.client import ApiClient

log = structlog.get_logger("agent.routes")

NODE = kinds.by_kind("Node")
Route = tuple[ipaddress.IPv4Network, str]


def internal_ip(node: core_pb2.Node) -> str:
    return next((a.address for a in node.status.addresses if a.type == "InternalIP"), "")


def node_routes(nodes: Iterable[core_pb2.Node], me: str) -> dict[str, Route]:
    """Node name -> (podCIDR, InternalIP) for every other node that has both. Pure."""
    routes = {}
    for node in nodes:
        address = internal_ip(node)
        if node.metadata.name == me or not node.spec.pod_cidr or not address:
            continue
        routes[node.metadata.name] = (ipaddress.IPv4Network(node.spec.pod_cidr), address)
    return routes


def member_routes(members: Iterable[Member], me: str) -> dict[str, Route]:
    """Member name -> (pod CIDR tag, gossip address) for every other live member tagged with one. Pure."""
    routes = {}
    for member in members:
        cidr = member.tag(POD_CIDR_TAG)
        if member.name == me or not member.live or not cidr:
            continue
        try:
            routes[member.name] = (ipaddress.IPv4Network(cidr), member.address)
        except ValueError:
            log.warning("routes.bad_pod_cidr_tag", member=member.name, tag=cidr)
    return routes


def merge_routes(gossip: Mapping[str, Route], api: Mapping[str, Route]) -> dict[ipaddress.IPv4Network, str]:
    """podCIDR -> next hop: what gossip says of a node, else what its Node object says. Pure."""
    return dict({**api, **gossip}.values())


def routes_to_others(nodes: Iterable[core_pb2.Node], me: str) -> dict[ipaddress.IPv4Network, str]:
    """podCIDR -> InternalIP of every other node that has both (the Node objects alone). Pure."""
    return merge_routes({}, node_routes(nodes, me))


class RouteSources:
    """The latest word of each source, and an event set whenever either changes."""

    def __init__(self) -> None:
        self.api: dict[str, Route] = {}
        self.gossip: dict[str, Route] = {}
        self.changed = asyncio.Event()

    def wanted(self) -> dict[ipaddress.IPv4Network, str]:
        return merge_routes(self.gossip, self.api)


async def follow_node_routes(client: ApiClient, network: PodNetwork, me: str,
                             members: Memberlist | None = None) -> None:
    """Keep the node's routes to the other pod ranges in step with gossip and the Node objects."""
    sources = RouteSources()
    async with asyncio.TaskGroup() as group:
        group.create_task(_follow_api(client, me, sources))
        if members is not None:
            group.create_task(_follow_gossip(members, me, sources))
        group.create_task(_apply(network, sources))


async def _apply(network: PodNetwork, sources: RouteSources) -> None:
    applied: dict[ipaddress.IPv4Network, str] | None = None
    while True:
        await sources.changed.wait()
        sources.changed.clear()
        wanted = sources.wanted()
        if wanted == applied:
            continue
        try:
            await network.set_routes(wanted)
        except NetworkError as error:
            # `ip` itself can fail (seen: a crash while dumping routes that changed meanwhile):
            # try again rather than leave this node without routes, or take the agent down.
            log.warning("routes.not_updated", error=str(error))
            await asyncio.sleep(1)
            sources.changed.set()
            continue
        applied = wanted
        log.info("routes.updated", routes={str(k): v for k, v in wanted.items()})


async def _follow_gossip(members: Memberlist, me: str, sources: RouteSources) -> None:
    while True:
        version = members.version
        routes = member_routes(members.members(), me)
        if routes != sources.gossip:
            sources.gossip = routes
            sources.changed.set()
        await members.wait_changed(version)


async def _follow_api(client: ApiClient, me: str, sources: RouteSources) -> None:
    while True:
        try:
            items, version = await client.list(NODE)
            nodes = {n.metadata.name: n for n in items if isinstance(n, core_pb2.Node)}
            sources.api = node_routes(nodes.values(), me)
            sources.changed.set()
            async for event in client.watch(NODE, resource_version=version):
                node = event.object
                if event.type == "BOOKMARK" or not isinstance(node, core_pb2.Node):
                    continue
                if event.type == "DELETED":
                    nodes.pop(node.metadata.name, None)
                else:
                    nodes[node.metadata.name] = node
                routes = node_routes(nodes.values(), me)
                if routes != sources.api:
                    sources.api = routes
                    sources.changed.set()
        except ApiError as error:
            if error.reason not in (Reason.EXPIRED, Reason.UNAVAILABLE):
                raise
            await asyncio.sleep(1)
