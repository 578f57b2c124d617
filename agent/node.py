"""This node as the API sees it: the Node object (capacity, addresses, labels, taints, conditions)
and the heartbeat (a Lease in kube-node-lease renewed every few seconds, as the kubelet does)."""

from __future__ import annotations

import asyncio
import os
import platform
from pathlib import Path
from typing import Any

import structlog

from agent.config import AgentConfig
from controlplane import __version__
from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.timestamps import now_text
from controlplane.api.v1 import coordination_pb2, core_pb2, meta_pb2
from controlplane.client import ApiClient, modify

log = structlog.get_logger("agent.node")

NODE = kinds.by_kind("Node")
LEASE = kinds.by_kind("Lease")
LEASE_NAMESPACE = "kube-node-lease"
LEASE_DURATION = 40
KUBELET_VERSION = f"v{__version__}-kubelab"
RUNTIME_VERSION = f"kubelab-embedded://{__version__}"


def machine_memory() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) * 1024
    return 0


def os_image() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.partition("=")[2].strip('"')
    except OSError:
        pass
    return platform.platform()


def capacity(config: AgentConfig) -> dict[str, str]:
    cpu = config.cpu_millicores or (os.cpu_count() or 1) * 1000
    memory = config.memory_bytes or machine_memory()
    cpu_text = f"{cpu // 1000}" if cpu % 1000 == 0 else f"{cpu}m"
    return {"cpu": cpu_text, "memory": f"{memory // 1024}Ki", "pods": str(config.max_pods)}


def _condition(kind: str, status: str, reason: str, message: str, now: str) -> meta_pb2.Condition:
    return meta_pb2.Condition(type=kind, status=status, reason=reason, message=message, last_heartbeat_time=now,
                              last_transition_time=now)


def ready_conditions(now: str) -> list[meta_pb2.Condition]:
    return [
        _condition("MemoryPressure", "False", "KubeletHasSufficientMemory", "kubelet has sufficient memory available",
                   now),
        _condition("DiskPressure", "False", "KubeletHasNoDiskPressure", "kubelet has no disk pressure", now),
        _condition("PIDPressure", "False", "KubeletHasSufficientPID", "kubelet has sufficient PID available", now),
        _condition("Ready", "True", "KubeletReady", "kubelet is posting ready status", now),
    ]


def merge_conditions(previous: list[meta_pb2.Condition], fresh: list[meta_pb2.Condition]) -> list[meta_pb2.Condition]:
    """Fresh conditions, keeping each one's lastTransitionTime when its status did not change."""
    before = {c.type: c for c in previous}
    merged = []
    for condition in fresh:
        old = before.get(condition.type)
        if old is not None and old.status == condition.status and old.last_transition_time:
            condition.last_transition_time = old.last_transition_time
        merged.append(condition)
    return merged


def status_overwritten(node: core_pb2.Node) -> bool:
    """Whether the Node's Ready condition says other than this agent does (True): the node lifecycle
    controller marked it Unknown while the agent was silent. The agent then posts its status at
    once instead of at its next status interval, as the kubelet does when the API's status differs."""
    ready = next((c for c in node.status.conditions if c.type == "Ready"), None)
    return ready is None or ready.status != "True"


def node_status(config: AgentConfig, previous: core_pb2.NodeStatus | None, agent_port: int) -> core_pb2.NodeStatus:
    now = now_text()
    status = core_pb2.NodeStatus(phase="")
    for name, value in capacity(config).items():
        status.capacity[name].string = value
        status.allocatable[name].string = value
    status.addresses.add(type="InternalIP", address=config.node_ip)
    status.addresses.add(type="Hostname", address=config.node_name)
    status.daemon_endpoints.kubelet_endpoint.port = agent_port
    info = status.node_info
    uname = os.uname()
    info.kernel_version = uname.release
    info.os_image = os_image()
    info.operating_system = "linux"
    info.architecture = config.node_labels["kubernetes.io/arch"]
    info.kubelet_version = KUBELET_VERSION
    info.kube_proxy_version = KUBELET_VERSION
    info.container_runtime_version = RUNTIME_VERSION
    info.machine_id = _machine_id()
    status.conditions.extend(merge_conditions(list(previous.conditions) if previous else [], ready_conditions(now)))
    return status


def _machine_id() -> str:
    try:
        return Path("/etc/machine-id").read_text().strip()
    except OSError:
        return ""


def new_node(config: AgentConfig, agent_port: int) -> core_pb2.Node:
    node = core_pb2.Node(api_version="v1", kind="Node")
    node.metadata.name = config.node_name
    node.metadata.labels.update(config.node_labels)
    if config.pod_cidr is not None:
        node.spec.pod_cidr = str(config.pod_cidr)
        node.spec.pod_cidrs.append(str(config.pod_cidr))
    for taint in config.taints:
        node.spec.taints.add(key=taint.key, value=taint.value, effect=taint.effect)
    node.status.CopyFrom(node_status(config, None, agent_port))
    return node


class NodeRegistration:
    """Registers the Node, then keeps its Lease and Ready condition fresh until cancelled."""

    def __init__(self, client: ApiClient, config: AgentConfig, agent_port: int) -> None:
        self.client = client
        self.config = config
        self.agent_port = agent_port
        self.node: core_pb2.Node | None = None

    async def register(self) -> core_pb2.Node:
        """Create the Node, or take over an existing one (an agent restart): labels are merged and
        the status refreshed; taints are only set at creation, as the kubelet does."""
        while True:
            try:
                created = await self.client.create(new_node(self.config, self.agent_port))
                assert isinstance(created, core_pb2.Node)
                log.info("node.registered", node=self.config.node_name)
                self.node = created
                return created
            except ApiError as error:
                if error.reason is Reason.UNAVAILABLE:
                    log.info("node.waiting_for_api", error=error.message)
                    await asyncio.sleep(1)
                    continue
                if error.reason is not Reason.ALREADY_EXISTS:
                    raise
            await modify(self.client, NODE, "", self.config.node_name, self._take_over)
            self.node = await self.post_status()
            log.info("node.reregistered", node=self.config.node_name)
            return self.node

    def _take_over(self, existing: Any) -> None:
        existing.metadata.labels.update(self.config.node_labels)
        if self.config.pod_cidr is not None and not existing.spec.pod_cidr:
            existing.spec.pod_cidr = str(self.config.pod_cidr)
            existing.spec.pod_cidrs.append(str(self.config.pod_cidr))

    async def post_status(self) -> core_pb2.Node:
        def refresh(node: Any) -> None:
            node.status.CopyFrom(node_status(self.config, node.status, self.agent_port))

        updated = await modify(self.client, NODE, "", self.config.node_name, refresh, status=True)
        assert isinstance(updated, core_pb2.Node)
        self.node = updated
        return updated

    async def renew_lease(self) -> None:
        name = self.config.node_name
        try:
            lease = await self.client.get(LEASE, LEASE_NAMESPACE, name)
        except ApiError as error:
            if error.reason is not Reason.NOT_FOUND:
                raise
            fresh = coordination_pb2.Lease(api_version="coordination.k8s.io/v1", kind="Lease")
            fresh.metadata.name = name
            fresh.metadata.namespace = LEASE_NAMESPACE
            if self.node is not None:
                fresh.metadata.owner_references.add(api_version="v1", kind="Node", name=name,
                                                    uid=self.node.metadata.uid)
            fresh.spec.holder_identity = name
            fresh.spec.lease_duration_seconds = LEASE_DURATION
            fresh.spec.renew_time = now_text()
            await self.client.create(fresh)
            return
        assert isinstance(lease, coordination_pb2.Lease)
        lease.spec.renew_time = now_text()
        lease.spec.holder_identity = name
        await self.client.update(lease)

    async def status_overwritten(self) -> bool:
        node = await self.client.get(NODE, "", self.config.node_name)
        assert isinstance(node, core_pb2.Node)
        return status_overwritten(node)

    async def heartbeat(self) -> None:
        """Renew the Lease every heartbeat interval; re-post the Node status every status interval,
        and at once when the control plane marked the node not Ready meanwhile."""
        last_status = asyncio.get_running_loop().time()
        while True:
            try:
                await self.renew_lease()
                due = asyncio.get_running_loop().time() - last_status >= self.config.node_status_interval
                if due or await self.status_overwritten():
                    await self.post_status()
                    last_status = asyncio.get_running_loop().time()
            except ApiError as error:
                log.warning("node.heartbeat_failed", error=error.message)
            await asyncio.sleep(self.config.heartbeat_interval)
