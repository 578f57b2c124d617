"""The gossip cluster as members see it: through the API server (`NodeMembers`: the view of the node
asked, as `klctl get members` shows it), or straight from an agent's port (`Members`: its own view,
once or as a stream of changes, as the controller manager watches the master's)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import grpc

from controlplane.api.v1 import gossip_pb2, gossip_pb2_grpc
from controlplane.client.api import api_error


class MembersClient:
    def __init__(self, channel: grpc.aio.Channel, timeout: float | None = 30.0) -> None:
        self.node_members = gossip_pb2_grpc.NodeMembersStub(channel)  # type: ignore[no-untyped-call]
        self.members = gossip_pb2_grpc.MembersStub(channel)  # type: ignore[no-untyped-call]
        self.timeout = timeout

    async def node_view(self, node: str = "") -> gossip_pb2.GossipView:
        """From the API server: the view of `node` ("" = the control-plane node); ApiError on refusal."""
        try:
            view: gossip_pb2.GossipView = await self.node_members.List(gossip_pb2.MembersRequest(node=node),
                                                                       timeout=self.timeout)
        except grpc.aio.AioRpcError as error:
            raise api_error(error) from None
        return view

    async def watch(self) -> AsyncIterator[gossip_pb2.GossipView]:
        """From an agent: its whole view now, then again after every change; ApiError when it fails."""
        call = self.members.Watch(gossip_pb2.MembersRequest())
        try:
            async for view in call:
                yield view
        except grpc.aio.AioRpcError as error:
            raise api_error(error) from None
        finally:
            call.cancel()
