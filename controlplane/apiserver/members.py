"""The API server's NodeMembers service: the gossip cluster as the node asked sees it, relayed from
that node's agent (its InternalIP and kubelet port, as for logs), for `klctl get members`."""

from __future__ import annotations

from typing import Any

import grpc

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.v1 import core_pb2, gossip_pb2, gossip_pb2_grpc
from controlplane.apiserver.registry import Registry
from controlplane.apiserver.streams import AgentConnections, abort, agent_address, relayed_error
from controlplane.store import StoreError

NODE_MEMBERS_SERVICE = gossip_pb2.DESCRIPTOR.services_by_name["NodeMembers"].full_name
NODE = kinds.by_kind("Node")
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
AGENT_TIMEOUT = 10.0

Context = grpc.aio.ServicerContext[Any, Any]


def default_node(nodes: list[core_pb2.Node]) -> core_pb2.Node:
    """The node whose view is shown when none is named: the control plane's, else the first by name."""
    if not nodes:
        raise ApiError(Reason.NOT_FOUND, "no nodes: nobody to ask about the gossip cluster")
    ordered = sorted(nodes, key=lambda n: (CONTROL_PLANE_LABEL not in n.metadata.labels, n.metadata.name))
    return ordered[0]


class NodeMembersService(gossip_pb2_grpc.NodeMembersServicer):
    def __init__(self, registry: Registry, agents: AgentConnections) -> None:
        self.registry = registry
        self.agents = agents

    async def List(self, request: gossip_pb2.MembersRequest, context: Context) -> gossip_pb2.GossipView:
        try:
            node = await self._node(request.node)
            address = agent_address(node)
            stub = gossip_pb2_grpc.MembersStub(self.agents.channel(address))  # type: ignore[no-untyped-call]
            try:
                view: gossip_pb2.GossipView = await stub.List(gossip_pb2.MembersRequest(), timeout=AGENT_TIMEOUT)
            except grpc.aio.AioRpcError as error:
                raise relayed_error(error, address) from None
            return view
        except ApiError as error:
            await abort(context, error)

    async def _node(self, name: str) -> core_pb2.Node:
        try:
            if name:
                node = await self.registry.get(NODE, "", name)
                assert isinstance(node, core_pb2.Node)
                return node
            items, _ = await self.registry.list_objects(self.registry.query(NODE, "", "", ""))
        except StoreError as error:
            raise ApiError(Reason.INTERNAL, f"storage error: {error}") from None
        return default_node([n for n in items if isinstance(n, core_pb2.Node)])

    def add_to(self, server: grpc.aio.Server) -> str:
        gossip_pb2_grpc.add_NodeMembersServicer_to_server(self, server)  # type: ignore[no-untyped-call]
        return NODE_MEMBERS_SERVICE
