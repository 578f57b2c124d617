"""What the agent observed of a pod's containers, and the writer that reports it as the pod's status.

Changes are coalesced: many changes in a short while become one status write, and every change is
written within a fraction of a second (the pod's status follows reality "within a second").
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import structlog

from agent.lifecycle.backoff import RestartBackOff
from agent.lifecycle.status import (
    ContainerFacts,
    ContainerState,
    PodFacts,
    Running,
    Terminated,
    Waiting,
    build_pod_status,
)
from agent.runtime.interface import ContainerStatus
from controlplane.api.errors import ApiError, Reason
from controlplane.api.v1 import core_pb2

if TYPE_CHECKING:
    from agent.context import AgentContext
    from agent.podworker import PodWorker

log = structlog.get_logger("agent.podstatus")

_COALESCE = 0.05  # seconds: changes this close together share one status write
CONTAINER_ID_SCHEME = "kubelab://"


def terminated(status: ContainerStatus) -> Terminated:
    return Terminated(exit_code=status.exit_code if status.exit_code is not None else 128 + (status.signal or 9),
                      started_at=status.started_at.timestamp(),
                      finished_at=status.finished_at.timestamp() if status.finished_at else None,
                      reason=status.reason if status.reason in ("OOMKilled",) else "", message=status.message,
                      signal=status.signal or 0, container_id=CONTAINER_ID_SCHEME + status.id,
                      oom_killed=status.reason == "OOMKilled")


@dataclass
class ContainerRecord:
    """One container's life as this agent saw it (mutable; the worker updates it)."""

    name: str
    image: str
    init: bool
    backoff: RestartBackOff
    container_id: str = ""
    state: ContainerState = field(default_factory=Waiting)
    last_state: Terminated | None = None
    restart_count: int = 0
    startup_passed: bool = False
    readiness_passed: bool = False

    def waiting(self, reason: str, message: str) -> None:
        if isinstance(self.state, Terminated):
            self.last_state = self.state
        self.state = Waiting(reason, message)

    def started(self, status: ContainerStatus) -> None:
        if isinstance(self.state, Terminated):
            self.last_state = self.state
        self.container_id = status.id
        self.restart_count = status.attempt
        self.state = Running(status.started_at.timestamp())
        self.startup_passed = self.readiness_passed = False

    def adopt(self, status: ContainerStatus, previous: ContainerStatus | None = None) -> None:
        """A container found at start (the agent restarted): take it as it is."""
        if previous is not None and previous.state == "exited":
            self.last_state = terminated(previous)
        self.container_id = status.id
        self.restart_count = status.attempt
        self.state = Running(status.started_at.timestamp()) if status.state == "running" else terminated(status)

    def finished(self, status: ContainerStatus) -> None:
        self.container_id = status.id
        self.state = terminated(status)
        self.readiness_passed = False

    def facts(self, has_startup_probe: bool, has_readiness_probe: bool) -> ContainerFacts:
        return ContainerFacts(name=self.name, state=self.state, last_state=self.last_state,
                              restart_count=self.restart_count, image=self.image,
                              container_id=CONTAINER_ID_SCHEME + self.container_id if self.container_id else "",
                              startup_passed=self.startup_passed or not has_startup_probe,
                              readiness_passed=self.readiness_passed or not has_readiness_probe)


class PodStatusReporter:
    def __init__(self, context: AgentContext, worker: PodWorker) -> None:
        self.context = context
        self.worker = worker
        self.failed = False
        self.initialized = False
        self._dirty = asyncio.Event()
        self._start_time = time.time()
        self._posted: core_pb2.PodStatus | None = None
        self._posted_version = 0  # the pod's resourceVersion our last status write made
        self._writing = 0  # status writes in flight
        self._seen_while_writing: tuple[int, core_pb2.PodStatus | None] = (0, None)

    def observe(self, pod: core_pb2.Pod) -> None:
        """The pod as the API has it now: if someone else rewrote its status after our last write
        (the node lifecycle controller marks pods not ready while their node is silent), post ours
        again, as the kubelet's status manager does when the API's status differs from its own.

        While a write of ours is in flight, its own watch event can arrive before its reply: what is
        seen then is judged once the reply tells which version that write made."""
        version = int(pod.metadata.resource_version or 0)
        if self._writing:
            if version > self._seen_while_writing[0]:
                self._seen_while_writing = (version, pod.status)
            return
        self._judge(version, pod.status)

    def _judge(self, version: int, status: core_pb2.PodStatus) -> None:
        if self._posted is not None and version > self._posted_version and status != self._posted:
            log.info("pod.status_overwritten", pod=self.worker.key)
            self._posted = None
            self.mark_dirty()

    def mark_dirty(self) -> None:
        self._dirty.set()

    def waiting_all(self, reason: str, message: str) -> None:
        for record in self.worker.records.values():
            if not isinstance(record.state, Running):
                record.waiting(reason, message)
        self.mark_dirty()

    async def run(self) -> None:
        self._dirty.set()
        while True:
            await self._dirty.wait()
            await asyncio.sleep(_COALESCE)
            self._dirty.clear()
            await self.flush()

    def build(self) -> core_pb2.PodStatus:
        pod = self.worker.pod
        spec = pod.spec

        def facts(containers: list[core_pb2.Container]) -> list[ContainerFacts]:
            found = []
            for container in containers:
                record = self.worker.records.get(container.name)
                if record is not None:
                    found.append(record.facts(container.HasField("startup_probe"),
                                              container.HasField("readiness_probe")))
            return found

        sandbox = self.worker.sandbox
        pod_facts = PodFacts(
            containers=facts(list(spec.containers)), init_containers=facts(list(spec.init_containers)),
            pod_ips=(sandbox.ip,) if sandbox is not None and not spec.host_network else (
                (self.context.config.node_ip,) if spec.host_network else ()),
            host_ips=(self.context.config.node_ip,), start_time=self._start_time,
            terminal=self.failed, sandbox_ready=sandbox is not None)
        previous = self._posted if self._posted is not None else pod.status
        return build_pod_status(spec, pod_facts, previous, time.time())

    async def flush(self) -> None:
        pod = self.worker.pod
        status = self.build()
        if self._posted is not None and status == self._posted:
            return
        update = core_pb2.Pod()
        update.CopyFrom(pod)
        update.metadata.resource_version = ""
        update.status.CopyFrom(status)
        self._writing += 1
        try:
            written = await self.context.client.update_status(update)
            self._posted = status
            self._posted_version = int(written.metadata.resource_version or 0)  # type: ignore[attr-defined]
        except ApiError as error:
            if error.reason is Reason.NOT_FOUND:
                return  # deleted meanwhile
            log.warning("pod.status_not_written", pod=self.worker.key, error=error.message)
            self._dirty.set()
        finally:
            self._writing -= 1
            if not self._writing:
                (version, seen), self._seen_while_writing = self._seen_while_writing, (0, None)
                if seen is not None:
                    self._judge(version, seen)
