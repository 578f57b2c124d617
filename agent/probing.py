"""The probes of one run of one container: startup first, then liveness and readiness on their
schedules; a failed liveness or startup probe kills the container (its supervisor then restarts
it as the pod's restartPolicy says), readiness only moves the Ready condition."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

import structlog

from agent.lifecycle.events import EventText
from agent.podstatus import ContainerRecord
from agent.probes.checks import ProbeError, ProbeResult, run_probe
from agent.probes.events import killing_for_probe, probe_errored, probe_failed, probe_warning
from agent.probes.gate import ProbeGate
from agent.probes.state import ProbeKind, ProbeState
from agent.runtime.interface import ContainerStatus
from controlplane.api.v1 import core_pb2

if TYPE_CHECKING:
    from agent.podworker import PodWorker

log = structlog.get_logger("agent.probes")

_IDLE = 3600.0  # nothing due (no probes, or all held): sleep long; the task is cancelled at exit


class ContainerProbes:
    def __init__(self, worker: PodWorker, container: core_pb2.Container, record: ContainerRecord,
                 status: ContainerStatus) -> None:
        self.worker = worker
        self.container = container
        self.record = record
        self.status = status
        self.gate = ProbeGate.for_container(container, status.started_at.timestamp())
        self.field_path = f"spec.containers{{{container.name}}}"

    async def run(self) -> None:
        self._publish()
        while True:
            now = time.time()
            due = self.gate.due(now)
            if not due:
                wake = self.gate.next_due(now)
                await asyncio.sleep(_IDLE if math.isinf(wake) else max(0.0, wake - now))
                continue
            results = await asyncio.gather(*(self._check(state) for state in due))
            for state, result in zip(due, results, strict=True):
                if result is None:
                    continue
                self.gate.record(state.kind, result.success, time.time())
                if not result.success:
                    await self._event(probe_failed(state.kind, result.message))
                elif result.warning:
                    await self._event(probe_warning(state.kind, result.message))
            self._publish()
            cause = self.gate.restart_cause
            if cause is not None:
                await self._kill(cause)
                return

    async def _check(self, state: ProbeState) -> ProbeResult | None:
        sandbox = self.worker.sandbox
        try:
            return await run_probe(state.probe, pod_ip=sandbox.ip if sandbox else "", ports=self._ports(),
                                   run=self._exec)
        except ProbeError as error:
            await self._event(probe_errored(state.kind, str(error)))
            return None

    async def _exec(self, command: Sequence[str], timeout: float) -> tuple[int, bytes]:
        process = await self.worker.context.runtime.exec(self.status.id, command, stdin=False, tty=False)
        try:
            async with asyncio.timeout(timeout):
                output, _ = await process.communicate()
        except TimeoutError:
            process.kill()
            await process.wait()
            raise
        return process.returncode or 0, output or b""

    def _ports(self) -> dict[str, int]:
        return {p.name: p.container_port for p in self.container.ports if p.name}

    def _publish(self) -> None:
        changed = (self.record.startup_passed, self.record.readiness_passed) != (
            self.gate.started, self.gate.readiness_passed)
        self.record.startup_passed = self.gate.started
        self.record.readiness_passed = self.gate.readiness_passed
        if changed:
            self.worker.reporter.mark_dirty()

    async def _event(self, text: EventText) -> None:
        await self.worker.context.events.record(self.worker.pod, text.type, text.reason, text.message,
                                                self.field_path)

    async def _kill(self, cause: ProbeKind) -> None:
        probe = self.container.startup_probe if cause is ProbeKind.STARTUP else self.container.liveness_probe
        grace = float(probe.termination_grace_period_seconds) if probe.HasField(
            "termination_grace_period_seconds") else self.worker.grace_period()
        await self._event(killing_for_probe(self.container.name, cause))
        log.info("container.probe_kill", pod=self.worker.key, container=self.container.name, probe=cause.value)
        await self.worker.kill_container(self.container, self.status, grace)
