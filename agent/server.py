"""`kubelab agent`: register the Node, keep it alive, run the pods bound to it."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress

import structlog

from agent.config import AgentConfig
from agent.context import AgentContext
from agent.gossip.transport import TransportError
from agent.members import MembersService
from agent.membership import AgentMembership
from agent.network import NodeNetworkConfig, PodNetwork
from agent.node import NodeRegistration
from agent.podmanager import PodManager
from agent.routes import follow_node_routes
from agent.runtime.embedded import EmbeddedRuntime
from agent.streams import NodeStreamsService, serve_streams
from controlplane.api import kinds
from controlplane.api.v1 import core_pb2
from controlplane.client import ClientConfig, connect
from controlplane.client.events import EventRecorder
from controlplane.client.informer import Informer
from controlplane.daemon import ConfigError

log = structlog.get_logger("agent")


async def _pod_cidr(registration: NodeRegistration, config: AgentConfig) -> ipaddress.IPv4Network:
    """The node's pod range: from the flag, or as the control plane assigns it to spec.podCIDR."""
    if config.pod_cidr is not None:
        return config.pod_cidr
    while True:
        node = await registration.client.get(kinds.by_kind("Node"), "", config.node_name)
        assert isinstance(node, core_pb2.Node)
        if node.spec.pod_cidr:
            return ipaddress.IPv4Network(node.spec.pod_cidr)
        log.info("node.waiting_for_pod_cidr")
        await asyncio.sleep(1)


async def serve(config: AgentConfig) -> None:
    try:
        config.state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"--state-dir {config.state_dir}: {error.strerror}") from None
    agent_port = int(config.listen.rpartition(":")[2])
    client = connect(ClientConfig(server=config.server), timeout=30)
    membership = AgentMembership(config, client, agent_port)
    try:
        try:
            await membership.member.open()  # before anything is registered: a port in use is a config error
        except TransportError as error:
            raise ConfigError(f"--gossip-port {config.gossip.port}: {error}") from None
        registration = NodeRegistration(client, config, agent_port)
        node = await registration.register()
        events = EventRecorder(client, "kubelet", config.node_name)
        await events.record(node, "Normal", "Starting", "Starting kubelet.")
        network = PodNetwork(NodeNetworkConfig(
            pod_cidr=await _pod_cidr(registration, config), bridge=config.bridge,
            netns_prefix=config.netns_prefix, state_dir=config.state_dir / "network",
            cluster_dns=config.cluster_dns, cluster_domain=config.cluster_domain))
        await network.setup_node()
        runtime = EmbeddedRuntime(config.state_dir / "runtime", config.cgroup_parent)
        services = Informer(client, kinds.by_kind("Service"))
        context = AgentContext(config, client, runtime, network, events, services)
        pods = PodManager(context)

        def pod_by_uid(uid: str) -> core_pb2.Pod | None:
            worker = pods.workers.get(uid)
            return worker.pod if worker is not None else None

        if config.pod_cidr is None:
            membership.set_pod_cidr(network.config.pod_cidr)
        streams = await serve_streams(config.listen, NodeStreamsService(runtime, pod_by_uid),
                                      also=[MembersService(membership.member).add_to])
        try:
            await events.record(node, "Normal", "NodeReady", f"Node {config.node_name} status is now: NodeReady")
            log.info("agent.serving", node=config.node_name, node_ip=config.node_ip,
                     pod_cidr=str(network.config.pod_cidr), listen=config.listen)
            async with asyncio.TaskGroup() as group:
                group.create_task(membership.run())
                group.create_task(services.run())
                group.create_task(registration.heartbeat())
                group.create_task(follow_node_routes(client, network, config.node_name, membership.member))
                group.create_task(pods.run())
        finally:
            # grpc's stop, run while this task is being cancelled, re-raises that cancellation.
            with contextlib.suppress(asyncio.CancelledError):
                await streams.stop(1.0)
    finally:
        membership.member.transport.close()
        await client.close()
