"""`kubelab hollow-nodes`: N simulated nodes in one process (like KWOK).

    register every Node (Ready, capacity, addresses, podCIDR)  -- bounded concurrency
    timetable: each node's Lease renewed and status posted on time, spread evenly
    pods watch (bound pods): a pod bound to one of our nodes is marked Running and Ready with an
        address from the node's range; a pod being deleted is deleted for good (grace 0), as a
        kubelet does once its containers stopped; its address is freed when it is gone.

Nothing runs: these nodes exist to load the API server, the scheduler and the controllers as
thousands of kubelets would. They are meant for clusters of their own (tests, benchmarks): their
InternalIPs and pod ranges are fake, so real nodes' agents must not share a cluster with them.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time

import structlog

from agent.node import LEASE_NAMESPACE
from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.timestamps import now_text
from controlplane.api.v1 import coordination_pb2, core_pb2
from controlplane.client import ClientConfig, connect
from controlplane.client.api import ApiClient
from controlplane.client.informer import Informer, object_key
from controlplane.controllers.runner import run_workers
from controlplane.controllers.workqueue import WorkQueue
from controlplane.hollow.config import HollowConfig
from controlplane.hollow.nodes import hollow_node, node_ip, node_lease, node_status, pod_cidr
from controlplane.hollow.podstatus import PodAddresses, is_running_here, running_status
from controlplane.hollow.schedule import LEASE, STATUS, Due, Timetable

log = structlog.get_logger("hollow")

NODE = kinds.by_kind("Node")
POD = kinds.by_kind("Pod")
LEASE_KIND = kinds.by_kind("Lease")
TERMINAL_PHASES = ("Succeeded", "Failed")


class HollowNodes:
    def __init__(self, client: ApiClient, config: HollowConfig) -> None:
        self.client = client
        self.config = config
        self.index_of = {config.node_name(i): i for i in range(config.count)}
        self.nodes: dict[str, core_pb2.Node] = {}
        self.leases: dict[str, coordination_pb2.Lease] = {}
        self.addresses = {name: PodAddresses(pod_cidr(config, i)) for name, i in self.index_of.items()}
        self.placed: dict[str, tuple[str, str]] = {}  # pod key -> (node, uid) holding an address
        self.pods = Informer(client, POD, field_selector="spec.nodeName!=")
        self.pods.add_handler(self._on_pod)
        self.queue = WorkQueue()
        # Writes in flight for registrations and pods; heartbeats have their own workers, as a
        # kubelet's lease renewal does not wait behind its pod status updates.
        self._writes = asyncio.Semaphore(config.parallel_writes)
        self.written = {"registrations": 0, "leases": 0, "statuses": 0, "pods": 0, "deletions": 0}

    # ------------------------------------------------------------------------------------- nodes

    async def register_all(self) -> None:
        started = time.monotonic()
        async with asyncio.TaskGroup() as group:
            for index in range(self.config.count):
                group.create_task(self._register(index))
        log.info("hollow.registered", nodes=self.config.count, seconds=round(time.monotonic() - started, 2))

    async def _register(self, index: int) -> None:
        name = self.config.node_name(index)
        async with self._writes:
            while True:
                try:
                    created = await self.client.create(hollow_node(self.config, index, now_text()))
                    break
                except ApiError as error:
                    if error.reason is Reason.ALREADY_EXISTS:
                        created = await self._take_over(index)
                        break
                    if error.reason is not Reason.UNAVAILABLE:
                        raise
                    await asyncio.sleep(1)
        assert isinstance(created, core_pb2.Node)
        self.nodes[name] = created
        self.written["registrations"] += 1

    async def _take_over(self, index: int) -> core_pb2.Node:
        """The node exists (a restart): its status is posted afresh."""
        existing = await self.client.get(NODE, "", self.config.node_name(index))
        assert isinstance(existing, core_pb2.Node)
        existing.status.CopyFrom(node_status(self.config, index, now_text(), existing.status))
        updated = await self.client.update_status(existing)
        assert isinstance(updated, core_pb2.Node)
        return updated

    async def _renew_lease(self, index: int) -> None:
        name = self.config.node_name(index)
        lease = self.leases.get(name)
        if lease is None:
            try:
                created = await self.client.create(node_lease(self.config, self.nodes[name], now_text()))
                assert isinstance(created, coordination_pb2.Lease)
                self.leases[name] = created
                return
            except ApiError as error:
                if error.reason is not Reason.ALREADY_EXISTS:
                    raise
            found = await self.client.get(LEASE_KIND, LEASE_NAMESPACE, name)
            assert isinstance(found, coordination_pb2.Lease)
            lease = found
        lease.spec.renew_time = now_text()
        lease.spec.holder_identity = name
        try:
            renewed = await self.client.update(lease)
        except ApiError as error:
            if error.reason in (Reason.CONFLICT, Reason.NOT_FOUND):
                self.leases.pop(name, None)  # read or made again next time
            raise
        assert isinstance(renewed, coordination_pb2.Lease)
        self.leases[name] = renewed

    async def _post_status(self, index: int) -> None:
        name = self.config.node_name(index)
        node = self.nodes[name]
        node.status.CopyFrom(node_status(self.config, index, now_text(), node.status))
        try:
            posted = await self.client.update_status(node)
        except ApiError as error:
            if error.reason is Reason.CONFLICT:
                posted = await self._take_over(index)
            elif error.reason is Reason.NOT_FOUND:  # someone deleted the node: register it again
                posted = await self.client.create(hollow_node(self.config, index, now_text()))
            else:
                raise
        assert isinstance(posted, core_pb2.Node)
        self.nodes[name] = posted

    async def heartbeats(self) -> None:
        """Renew every Lease and post every status on time, until cancelled."""
        loop = asyncio.get_running_loop()
        timetable = Timetable(self.config.count, {LEASE: self.config.lease_renew_interval,
                                                  STATUS: self.config.node_status_interval}, loop.time())
        due: asyncio.Queue[Due] = asyncio.Queue(maxsize=4 * self.config.parallel_writes)

        async def write() -> None:
            while True:
                item = await due.get()
                try:
                    if item.kind == LEASE:
                        await self._renew_lease(item.index)
                        self.written["leases"] += 1
                    else:
                        await self._post_status(item.index)
                        self.written["statuses"] += 1
                except ApiError as error:
                    log.warning("hollow.heartbeat_failed", node=self.config.node_name(item.index), kind=item.kind,
                                error=error.message)

        async with asyncio.TaskGroup() as group:
            for _ in range(self.config.parallel_writes):
                group.create_task(write())
            while True:
                for item in timetable.take_due(loop.time()):
                    await due.put(item)
                wake = timetable.next_at()
                await asyncio.sleep(max(0.0, (wake or loop.time() + 1) - loop.time()))

    # ------------------------------------------------------------------------------------- pods

    def _on_pod(self, old: core_pb2.Pod | None, new: core_pb2.Pod | None) -> None:
        pod = new if new is not None else old
        assert pod is not None
        key = object_key(pod)
        if pod.spec.node_name in self.index_of or key in self.placed:
            self.queue.add(key)

    def _release(self, key: str) -> None:
        placed = self.placed.pop(key, None)
        if placed is not None:
            self.addresses[placed[0]].release(placed[1])

    async def reconcile(self, key: str) -> float | None:
        pod = self.pods.get_by_key(key)
        if pod is None or pod.spec.node_name not in self.index_of or pod.status.phase in TERMINAL_PHASES:
            self._release(key)
            return None
        name = pod.spec.node_name
        if pod.metadata.deletion_timestamp:
            async with self._writes:
                try:
                    await self.client.delete(POD, pod.metadata.namespace, pod.metadata.name, grace_period=0)
                    self.written["deletions"] += 1
                except ApiError as error:
                    if error.reason is not Reason.NOT_FOUND:
                        raise
            return None
        placed = self.placed.get(key)
        if placed is not None and placed != (name, pod.metadata.uid):
            self._release(key)  # another pod of the same name, or moved
        addresses = self.addresses[name]
        wanted = pod.status.pod_ip if _within(pod.status.pod_ip, addresses.cidr) else ""
        try:
            address = addresses.assign(pod.metadata.uid, wanted)
        except ValueError as error:
            log.warning("hollow.no_address", pod=key, node=name, error=str(error))
            return None
        self.placed[key] = (name, pod.metadata.uid)
        if is_running_here(pod, address):
            return None
        running = core_pb2.Pod()
        running.CopyFrom(pod)
        running.status.CopyFrom(running_status(pod, address, node_ip(self.config, self.index_of[name]), time.time()))
        async with self._writes:
            await self.client.update_status(running)
        self.written["pods"] += 1
        return None

    async def run(self) -> None:
        await self.register_all()
        async with asyncio.TaskGroup() as group:
            group.create_task(self.heartbeats(), name="heartbeats")
            group.create_task(self.pods.run(), name="pods")
            await self.pods.wait_synced()
            log.info("hollow.serving", nodes=self.config.count, bound_pods=len(self.pods))
            group.create_task(run_workers("hollow-pods", self.queue, self.reconcile, self.config.parallel_writes))
            group.create_task(self._log_counts())

    async def _log_counts(self) -> None:
        last: dict[str, int] = {}
        while True:
            await asyncio.sleep(30)
            if self.written != last:
                last = dict(self.written)
                log.info("hollow.writes", **last, pods_running=len(self.placed))


def _within(address: str, cidr: ipaddress.IPv4Network) -> bool:
    try:
        return ipaddress.IPv4Address(address) in cidr
    except ValueError:
        return False


async def serve(config: HollowConfig) -> None:
    client = connect(ClientConfig(server=config.server), timeout=30)
    try:
        await HollowNodes(client, config).run()
    finally:
        await client.close()
