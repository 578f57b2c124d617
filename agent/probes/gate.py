"""The probes of one container and Kubernetes' rules between them.

- While a startup probe has not succeeded, it is the only one that runs: liveness and readiness
  wait (their initialDelaySeconds still counts from the container's start, so they are due at
  once when the startup probe succeeds late).
- Once the startup probe succeeded, it never runs again for that run of the container.
- A liveness or startup `Failure` means the container is killed and, if the pod's restartPolicy
  allows, restarted (`restart_cause`); readiness only drives the container's `ready`.
- A container is `started` when it has no startup probe or it succeeded, `ready` when it is started
  and has no readiness probe or its verdict is Success.
"""

from __future__ import annotations

import math

from agent.probes.state import ProbeKind, ProbeState, Verdict
from controlplane.api.v1 import core_pb2


class ProbeGate:
    """The startup, liveness and readiness probes of one run of one container."""

    def __init__(self, startup: core_pb2.Probe | None, liveness: core_pb2.Probe | None,
                 readiness: core_pb2.Probe | None, started_at: float) -> None:
        self.startup = ProbeState(ProbeKind.STARTUP, startup, started_at) if startup is not None else None
        self.liveness = ProbeState(ProbeKind.LIVENESS, liveness, started_at) if liveness is not None else None
        self.readiness = ProbeState(ProbeKind.READINESS, readiness, started_at) if readiness is not None else None

    @classmethod
    def for_container(cls, container: core_pb2.Container, started_at: float) -> ProbeGate:
        """The probes a container's spec declares (a probe message that is not set is no probe)."""
        def probe(field: str) -> core_pb2.Probe | None:
            if not container.HasField(field):
                return None
            declared: core_pb2.Probe = getattr(container, field)
            return declared

        return cls(probe("startup_probe"), probe("liveness_probe"), probe("readiness_probe"), started_at)

    def reset(self, started_at: float) -> None:
        """A new run of the container, started at `started_at`: every probe starts over."""
        for state in self.probes():
            state.reset(started_at)

    def probes(self) -> list[ProbeState]:
        return [p for p in (self.startup, self.liveness, self.readiness) if p is not None]

    def get(self, kind: ProbeKind) -> ProbeState | None:
        return {ProbeKind.STARTUP: self.startup, ProbeKind.LIVENESS: self.liveness,
                ProbeKind.READINESS: self.readiness}[kind]

    @property
    def started(self) -> bool:
        """No startup probe, or it succeeded for this run."""
        return self.startup is None or self.startup.verdict == Verdict.SUCCESS

    @property
    def readiness_passed(self) -> bool:
        """No readiness probe, or its verdict is Success (whether the container is started aside)."""
        return self.readiness is None or self.readiness.verdict == Verdict.SUCCESS

    @property
    def ready(self) -> bool:
        return self.started and self.readiness_passed

    @property
    def restart_cause(self) -> ProbeKind | None:
        """LIVENESS or STARTUP when that probe failed and the container must be killed, else None."""
        if self.startup is not None and self.startup.verdict == Verdict.FAILURE:
            return ProbeKind.STARTUP
        if self.liveness is not None and self.liveness.verdict == Verdict.FAILURE:
            return ProbeKind.LIVENESS
        return None

    def active(self) -> list[ProbeState]:
        """The probes allowed to run now (held ones excluded)."""
        if not self.started:
            return [self.startup] if self.startup is not None and not self.startup.held else []
        return [p for p in (self.liveness, self.readiness) if p is not None and not p.held]

    def due(self, now: float) -> list[ProbeState]:
        """The probes to check now."""
        return [p for p in self.active() if p.is_due(now)]

    def next_due(self, now: float) -> float:
        """When the next check is due (never before `now`); `math.inf` when nothing will run."""
        return min((p.next_due(now) for p in self.active()), default=math.inf)

    def record(self, kind: ProbeKind, success: bool, now: float) -> Verdict | None:
        """Feed one check's result; the probe's new verdict when it flips, else None.

        A result for a probe that may not run (liveness before the startup probe succeeded, a late
        startup result after it did) is ignored.
        """
        state = self.get(kind)
        if state is None or state not in self.active():
            return None
        return state.record(success, now)
