"""The agent as a member of the gossip cluster.

It joins with the node's name and address, and tags that say what other agents need to know
without asking the API server: its role, its pod CIDR (routes.py installs routes from them), the
address of its gRPC port and the API server it uses. Member changes become Events on the Node
objects, written once per change: by the live member with the lowest name other than the one the
change is about (every member sees every change; one of them speaks).
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable

import structlog

from agent.config import AgentConfig
from agent.gossip.keyring import Keyring, follow_keyring_file
from agent.gossip.memberlist import Memberlist
from agent.gossip.state import EventKind, Member, MemberEvent
from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.client import ApiClient
from controlplane.client.events import EventRecorder

log = structlog.get_logger("agent.membership")

NODE = kinds.by_kind("Node")
ROLE_TAG = "role"
POD_CIDR_TAG = "pod-cidr"
AGENT_TAG = "agent"
API_SERVER_TAG = "api-server"
CONTROL_PLANE_ROLE_LABEL = "node-role.kubernetes.io/control-plane"
EVENT_SOURCE = "gossip"
REPORT_DELAY = 1.0  # seconds

# Member changes as Node events: (type, reason, what happened). Suspicions and refutations are
# too frequent on a lossy network to be Events; they are in the agents' logs.
NODE_EVENTS: dict[EventKind, tuple[str, str, str]] = {
    EventKind.JOIN: ("Normal", "MemberJoined", "Joined the gossip cluster"),
    EventKind.LEAVE: ("Normal", "MemberLeft", "Left the gossip cluster"),
    EventKind.FAILED: ("Warning", "MemberFailed", "Declared dead by the gossip cluster: no answer to direct or "
                       "indirect probes"),
    EventKind.RECOVERED: ("Normal", "MemberRecovered", "Alive again in the gossip cluster"),
}


def node_tags(config: AgentConfig, pod_cidr: ipaddress.IPv4Network | None,
              agent_port: int) -> tuple[tuple[str, str], ...]:
    role = "control-plane" if CONTROL_PLANE_ROLE_LABEL in config.node_labels else "worker"
    tags = [(ROLE_TAG, role), (AGENT_TAG, f"{config.node_ip}:{agent_port}"), (API_SERVER_TAG, config.server)]
    if pod_cidr is not None:
        tags.insert(1, (POD_CIDR_TAG, str(pod_cidr)))
    return tuple(tags)


def reporter(members: Iterable[Member], subject: str) -> str | None:
    """The member that writes the Event about a change of `subject`: the live one with the lowest
    name, `subject` left out (it may be the one that died). Pure."""
    names = sorted(m.name for m in members if m.live and m.name != subject)
    return names[0] if names else None


def node_event(event: MemberEvent) -> tuple[str, str, str] | None:
    """(type, reason, message) of the Node event for a member event, None when it makes none."""
    found = NODE_EVENTS.get(event.kind)
    if found is None:
        return None
    event_type, reason, what = found
    return event_type, reason, f"Node {event.member.name} event: {what}"


class AgentMembership:
    def __init__(self, config: AgentConfig, client: ApiClient, agent_port: int) -> None:
        self.config = config
        self.client = client
        self.agent_port = agent_port
        self.keyring = Keyring(config.gossip.keys)
        gossip = config.gossip.config(config.node_name, config.node_ip,
                                      tags=node_tags(config, config.pod_cidr, agent_port))
        self.member = Memberlist(gossip, self.keyring)
        self.events = EventRecorder(client, EVENT_SOURCE, config.node_name)

    def set_pod_cidr(self, pod_cidr: ipaddress.IPv4Network) -> None:
        """The pod range the control plane assigned, once known (a new incarnation, gossiped)."""
        self.member.set_tags(node_tags(self.config, pod_cidr, self.agent_port))

    async def run(self) -> None:
        async with asyncio.TaskGroup() as group:
            group.create_task(self.member.run())
            group.create_task(self._record_events())
            if self.config.gossip.keyring_file is not None:
                group.create_task(follow_keyring_file(self.config.gossip.keyring_file, self.keyring))

    async def _record_events(self) -> None:
        queue = self.member.subscribe()
        async with asyncio.TaskGroup() as group:
            while True:
                event = await queue.get()
                made = node_event(event)
                if made is not None and event.member.name != self.member.name:
                    group.create_task(self._report(event, made))

    async def _report(self, event: MemberEvent, made: tuple[str, str, str]) -> None:
        # Who reports is decided a moment later, on a view that has had time to settle: right
        # after a join, two members may still see different clusters and both think it is theirs.
        await asyncio.sleep(REPORT_DELAY)
        if reporter(self.member.members(), event.member.name) == self.member.name:
            try:
                node = await self.client.get(NODE, "", event.member.name)
            except ApiError as error:
                if error.reason is not Reason.NOT_FOUND:  # not a Node (kubelab gossip on its own): no Event
                    log.warning("membership.event_not_recorded", member=event.member.name, error=error.message)
                return
            await self.events.record(node, *made)
