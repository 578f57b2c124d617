"""`kubelab apiserver`: open the store, bootstrap, serve the API with reflection and health."""

from __future__ import annotations

import asyncio

import grpc
import structlog
from grpc_health.v1 import _async as health_aio
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from controlplane.api.v1 import api_pb2, api_pb2_grpc, streams_pb2_grpc
from controlplane.apiserver.allocators import ClusterIPAllocator, PortAllocator
from controlplane.apiserver.bootstrap import bootstrap
from controlplane.apiserver.config import ApiServerConfig
from controlplane.apiserver.eventttl import expire_events_periodically
from controlplane.apiserver.grpc_api import ApiService
from controlplane.apiserver.members import NodeMembersService
from controlplane.apiserver.registry import Registry
from controlplane.apiserver.service_alloc import ServiceAllocations
from controlplane.apiserver.streams import STREAMS_SERVICE, AgentConnections, StreamsService
from controlplane.apiserver.tolerations import DefaultTolerations
from controlplane.daemon import ConfigError
from controlplane.store import Store, StoreError, open_sqlite_store

log = structlog.get_logger("apiserver")

API_SERVICE = api_pb2.DESCRIPTOR.services_by_name["Api"].full_name
_MESSAGE_LIMIT = 64 * 1024 * 1024


def _advertised(config: ApiServerConfig) -> str:
    if config.advertise_address:
        return config.advertise_address
    if config.host in ("", "0.0.0.0", "::"):
        return "127.0.0.1"
    return config.host


async def _compact_periodically(store: Store, interval: float) -> None:
    """Every interval, forget history older than the revision seen one interval ago."""
    previous = store.revision
    while True:
        await asyncio.sleep(interval)
        if previous > store.compact_revision:
            await store.compact(previous)
            log.info("store.compacted", revision=previous)
        previous = store.revision


async def serve(config: ApiServerConfig) -> None:
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ConfigError(f"--data-dir {config.data_dir}: {error.strerror}") from None
    try:
        store = await open_sqlite_store(config.data_dir / "kubelab.db")
    except StoreError as error:
        raise ConfigError(f"--data-dir {config.data_dir}: {error}") from None
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", _MESSAGE_LIMIT),
                                      ("grpc.max_send_message_length", _MESSAGE_LIMIT),
                                      ("grpc.so_reuseport", 0)])
    agents = AgentConnections()  # channels to the node agents, for logs, exec and port-forward
    try:
        allocations = ServiceAllocations(ClusterIPAllocator(config.service_cidr),
                                         PortAllocator(config.node_port_low, config.node_port_high))
        registry = Registry(store, allocations, tolerations=DefaultTolerations(
            config.default_not_ready_toleration_seconds, config.default_unreachable_toleration_seconds))
        await registry.start()
        api_pb2_grpc.add_ApiServicer_to_server(  # type: ignore[no-untyped-call]
            ApiService(registry, config.bookmark_interval), server)
        streams_pb2_grpc.add_StreamsServicer_to_server(  # type: ignore[no-untyped-call]
            StreamsService(registry, agents), server)
        members_service = NodeMembersService(registry, agents).add_to(server)  # `klctl get members`
        health_servicer = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        reflection.enable_server_reflection(
            (API_SERVICE, STREAMS_SERVICE, members_service, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
             reflection.SERVICE_NAME), server)
        try:
            port = server.add_insecure_port(config.listen)
        except RuntimeError:
            raise ConfigError(f"--listen {config.listen}: cannot bind (address in use or not local)") from None
        await bootstrap(registry, config.service_cidr, _advertised(config), port)
        await server.start()
        for service in ("", API_SERVICE):
            await health_servicer.set(service, health_pb2.HealthCheckResponse.SERVING)
        log.info("apiserver.serving", address=f"{config.host}:{port}", store=config.store,
                 data_dir=str(config.data_dir), revision=store.revision)
        async with asyncio.TaskGroup() as group:
            if config.compaction_interval > 0:
                group.create_task(_compact_periodically(store, config.compaction_interval))
            group.create_task(expire_events_periodically(registry, config.event_ttl))
            group.create_task(server.wait_for_termination())
    finally:
        try:
            await server.stop(grace=1.0)
        except asyncio.CancelledError:
            # grpc's shutdown, run while this task is being cancelled, ends by re-raising the
            # cancellation of its own grace-period wait; the server is down either way.
            log.debug("apiserver.stop_interrupted")
        finally:
            await agents.close()
            await store.close()
