"""`kubelab proxy`: watch Services, EndpointSlices, Nodes and the proxies' Leases, and keep this
node's data path (userspace listeners or nftables rules) and its load balancer addresses current.

    informers ── handlers mark services dirty ──> sync loop: ProxyState.update (routes that changed)
                                                      └─> backend.apply (only those), health, metrics
    nodes, leases, routes ──> announce loop: the LB addresses this node owns -> interface + ARP

Everything the proxy made is removed when it stops (SIGTERM): listeners or the nftables table, the
dummy interface, load balancer addresses, its Lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import time

import structlog

from controlplane.api import kinds
from controlplane.api.v1 import coordination_pb2, core_pb2, discovery_pb2
from controlplane.client import ApiClient, ClientConfig, connect
from controlplane.client.events import EventRecorder
from controlplane.client.informer import Informer, InformerSet, object_key
from controlplane.daemon import ConfigError
from proxy.announce import LEASE_LABEL, LEASE_NAMESPACE, Announced, LeaseTracker, candidates, node_of_lease, owned
from proxy.announcer import Announcer
from proxy.backend import Backend, NodeView
from proxy.config import ProxyConfig
from proxy.health import Latencies, ProxyHealth
from proxy.httpserver import HealthServer, ServiceHealthServers
from proxy.lease import keep_lease
from proxy.model import ServicePortName, slice_service_key
from proxy.nft.backend import NftablesBackend
from proxy.routing import Route
from proxy.state import Changes, ProxyState
from proxy.userspace.backend import UserspaceBackend

log = structlog.get_logger("proxy")

SERVICE, SLICE, NODE, LEASE = (kinds.by_kind(k) for k in ("Service", "EndpointSlice", "Node", "Lease"))
TO_BE_DELETED_TAINT = "ToBeDeletedByClusterAutoscaler"
RETRY_DELAY = 1.0  # seconds before a failed sync (or a frontend that could not bind) is tried again


def _addresses_of(node: core_pb2.Node) -> list[str]:
    """The addresses a node's clients may use as a node port's (its internal and external IPs)."""
    return [address.address for address in node.status.addresses if address.type in ("InternalIP", "ExternalIP")]


def make_backend(config: ProxyConfig) -> Backend:
    return UserspaceBackend(config) if config.mode == "userspace" else NftablesBackend(config)


class Proxy:
    def __init__(self, config: ProxyConfig, client: ApiClient, backend: Backend) -> None:
        self.config = config
        self.client = client
        self.backend = backend
        self.state = ProxyState(config.node_name)
        self.changes = Changes()
        self.wake = asyncio.Event()
        self.announce_wake = asyncio.Event()
        self.health = ProxyHealth(config.health_timeout)
        self.programming = Latencies()
        self.sync_latency = Latencies()
        self.http = HealthServer(config.healthz_address, config.healthz_port, self.health, self.programming,
                                 self.sync_latency)
        self.service_health = ServiceHealthServers(self.health)
        self.announcer = Announcer(config.node_ip)
        self.leases = LeaseTracker()
        self.informers = InformerSet(client)
        self.services = self.informers(SERVICE)
        self.slices = self.informers(SLICE)
        self.nodes = self.informers(NODE)
        self.lease_informer = Informer(client, LEASE, namespace=LEASE_NAMESPACE,
                                       label_selector=f"{LEASE_LABEL[0]}={LEASE_LABEL[1]}")
        self._pending: dict[ServicePortName, Route | None] = {}  # route changes not yet applied
        self._retry: asyncio.TimerHandle | None = None
        self._retry_due = False
        self._view = NodeView()

    # ------------------------------------------------------------------ watch handlers (cheap)

    def _dirty(self) -> None:
        self.health.queued(time.time())
        self.wake.set()

    def _service_changed(self, old: core_pb2.Service | None, new: core_pb2.Service | None) -> None:
        current = new or old
        assert current is not None
        self.changes.mark(object_key(current))
        self._dirty()

    def _slice_changed(self, old: discovery_pb2.EndpointSlice | None, new: discovery_pb2.EndpointSlice | None) -> None:
        current = new or old
        assert current is not None
        key = object_key(current)
        if old is not None and (new is None or slice_service_key(old) != slice_service_key(new)):
            self.changes.slice_deleted(key, slice_service_key(old))
        if new is not None:
            self.changes.slice_changed(key, slice_service_key(new), dict(new.metadata.annotations))
        self._dirty()

    def _node_changed(self, old: core_pb2.Node | None, new: core_pb2.Node | None) -> None:
        current = new or old
        own = current is not None and current.metadata.name == self.config.node_name
        # Most node updates are heartbeats: the view (over every node) is recomputed only when this
        # node's part of it changed.
        if (old is None or new is None or _addresses_of(old) != _addresses_of(new)
                or (own and old.spec.pod_cidr != new.spec.pod_cidr)) and self._node_view() != self._view:
            self._dirty()
        if own:
            self.health.node_eligible = new is not None and not new.metadata.deletion_timestamp and not any(
                taint.key == TO_BE_DELETED_TAINT for taint in new.spec.taints)
        self.announce_wake.set()

    def _lease_changed(self, old: coordination_pb2.Lease | None, new: coordination_pb2.Lease | None) -> None:
        if new is None:
            assert old is not None
            self.leases.forget(node_of_lease(old.metadata.name))
        else:
            self.leases.observe(node_of_lease(new.metadata.name), new.metadata.resource_version,
                                float(new.spec.lease_duration_seconds or self.config.lease_duration),
                                time.monotonic())
        self.announce_wake.set()

    def _node_view(self) -> NodeView:
        addresses = frozenset(address for node in self.nodes.list() for address in _addresses_of(node))
        own = self.nodes.get("", self.config.node_name)
        return NodeView(node_addresses=addresses | {self.config.node_ip},
                        pod_cidr=own.spec.pod_cidr if own is not None else "")

    # ------------------------------------------------------------------ running

    async def run(self) -> None:
        self.slices.add_index("service", lambda s: [key] if (key := slice_service_key(s)) else [])
        self.services.add_handler(self._service_changed)
        self.slices.add_handler(self._slice_changed)
        self.nodes.add_handler(self._node_changed)
        self.lease_informer.add_handler(self._lease_changed)
        started = False
        try:
            await self.http.start()
        except OSError as error:
            raise ConfigError(f"--healthz-port {self.config.healthz_port}: cannot listen on "
                              f"{self.config.healthz_address}:{self.config.healthz_port} ({error.strerror})") from None
        try:
            async with asyncio.TaskGroup() as group:
                group.create_task(self.informers.run(), name="informers")
                group.create_task(self.lease_informer.run(), name="lease-informer")
                await self.informers.wait_synced()
                await self.lease_informer.wait_synced()
                started = True  # from here on, stop() undoes whatever start() managed to do
                await self.backend.start()
                await self.announcer.start()
                await self._record_start()
                log.info("proxy.serving", node=self.config.node_name, mode=self.config.mode,
                         services=len(self.services), lb_pool=str(self.config.lb_pool) or None)
                group.create_task(self._sync_forever(), name="sync")
                group.create_task(keep_lease(self.client, self.config.node_name, self.config.lease_duration,
                                             self.config.lease_renew_interval), name="lease")
                group.create_task(self._announce_forever(), name="announce")
        finally:
            if self._retry is not None:
                self._retry.cancel()
            await self._shutdown(started)

    async def _shutdown(self, started: bool) -> None:
        """Undo everything, each step even if an earlier one failed."""
        steps = [self.announcer.stop(), self.service_health.stop()]
        if started:
            steps.append(self.backend.stop())
        steps.append(self.http.stop())
        for step in steps:
            try:
                await step
            except Exception:
                log.exception("proxy.cleanup_failed")
        log.info("proxy.stopped", node=self.config.node_name)

    async def _record_start(self) -> None:
        node = self.nodes.get("", self.config.node_name)
        if node is not None:
            await EventRecorder(self.client, "kube-proxy", self.config.node_name).record(
                node, "Normal", "Starting", "Starting kube-proxy.")

    async def _sync_forever(self) -> None:
        for key in self.services.keys():  # noqa: SIM118 (an Informer is not a dict)
            self.changes.mark(key)
        self.wake.set()
        while True:
            await self.wake.wait()
            self.wake.clear()
            await self.sync_once()

    async def sync_once(self) -> None:
        dirty, triggers = self.changes.take()
        for key in dirty:
            self._pending.update(self.state.update(key, self.services.get_by_key(key),
                                                   self.slices.by_index("service", key)))
        view = self._node_view()
        if not self._pending and view == self._view and not self._retry_due:
            self.health.updated(time.time())
            return
        started = time.monotonic()
        try:
            await self.backend.apply(self._pending, self.state.routes, view)
        except Exception as error:
            log.exception("proxy.sync_failed", error=str(error), retry_in=RETRY_DELAY)
            self._schedule_retry()
            return
        self.sync_latency.observe(time.monotonic() - started)
        changed = len(self._pending)
        self._pending = {}
        self._retry_due = False
        self._view = view
        now = time.time()
        for trigger in triggers:
            self.programming.observe(now - trigger)
        self.health.updated(now)
        if self.backend.needs_retry():
            self._schedule_retry()
        await self._sync_service_health()
        self.announce_wake.set()
        if changed:
            log.debug("proxy.synced", ports=changed, ms=round((time.monotonic() - started) * 1000, 2))

    def _schedule_retry(self) -> None:
        if self._retry is not None:
            return

        def fire() -> None:
            self._retry = None
            self._retry_due = True  # sync_once applies again even with nothing new
            self.wake.set()

        self._retry = asyncio.get_running_loop().call_later(RETRY_DELAY, fire)

    async def _sync_service_health(self) -> None:
        ports: dict[str, int] = {}
        local: dict[str, int] = {}
        for route in self.state.routes.values():
            port = route.port
            if port.health_check_node_port and port.external_local:
                key = port.name.service
                ports[key] = port.health_check_node_port
                local[key] = max(local.get(key, 0), len(route.local))
        await self.service_health.sync(ports, local)

    # ------------------------------------------------------------------ load balancer addresses

    def lb_addresses(self) -> list[Announced]:
        """The announced addresses: LB IPs of the pool, with their preferred nodes (Local policy)."""
        preferred: dict[str, set[str]] = {}
        for route in self.state.routes.values():
            for address in route.port.load_balancer_ips:
                if address not in self.config.lb_pool:
                    continue
                nodes = preferred.setdefault(address, set())
                if route.port.external_local:
                    nodes.update(route.nodes)
        return [Announced(address, frozenset(nodes)) for address, nodes in sorted(preferred.items())]

    async def _announce_forever(self) -> None:
        while True:
            self.announce_wake.clear()
            now = time.monotonic()
            eligible = candidates(self.nodes.list(), self.leases.alive(now))
            wanted = owned(self.lb_addresses(), eligible, self.config.node_name)
            try:
                await self.announcer.sync(wanted)
            except Exception:
                log.exception("announcer.sync_failed", retry_in=RETRY_DELAY)
                await asyncio.sleep(RETRY_DELAY)
                continue
            expiry = self.leases.next_expiry(now)
            timeout = None if expiry is None else max(expiry - time.monotonic(), 0.0) + 0.05
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await self.announce_wake.wait()


async def serve(config: ProxyConfig) -> None:
    client = connect(ClientConfig(server=config.server), timeout=30)
    try:
        await Proxy(config, client, make_backend(config)).run()
    finally:
        await client.close()
