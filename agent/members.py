"""The Members gRPC service: this member's view of the gossip cluster (port 10250 on the agent),
for `klctl get members` (relayed by the API server) and for the controller manager, which watches
the master's view as its second witness of node health."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from agent.gossip.memberlist import Memberlist
from controlplane.api.v1 import gossip_pb2, gossip_pb2_grpc

MEMBERS_SERVICE = gossip_pb2.DESCRIPTOR.services_by_name["Members"].full_name
Context = grpc.aio.ServicerContext[Any, Any]


def member_view(member: Memberlist) -> gossip_pb2.GossipView:
    now = member.clock()
    view = gossip_pb2.GossipView(node=member.name)
    for m in member.members():
        entry = view.members.add(name=m.name, address=m.address, port=m.port, status=m.status.value,
                                 incarnation=m.incarnation, status_seconds=round(max(0.0, now - m.since), 3))
        entry.tags.update(dict(m.tags))
    view.stats.update(member.stats)
    return view


class MembersService(gossip_pb2_grpc.MembersServicer):
    def __init__(self, member: Memberlist) -> None:
        self.member = member

    async def List(self, request: gossip_pb2.MembersRequest, context: Context) -> gossip_pb2.GossipView:
        return member_view(self.member)

    async def Watch(self, request: gossip_pb2.MembersRequest,
                    context: Context) -> AsyncIterator[gossip_pb2.GossipView]:
        version = self.member.version
        yield member_view(self.member)
        while True:
            version = await self.member.wait_changed(version)
            yield member_view(self.member)

    def add_to(self, server: grpc.aio.Server) -> str:
        gossip_pb2_grpc.add_MembersServicer_to_server(self, server)  # type: ignore[no-untyped-call]
        return MEMBERS_SERVICE
