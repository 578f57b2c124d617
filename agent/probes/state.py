"""One probe of one container: when it runs next and what its results add up to.

Kubernetes' rules (the kubelet's prober worker):

- Before any result a probe has its initial verdict: readiness `Failure` (a container is not ready
  until it proved it), liveness `Success` (alive until proven otherwise), startup `Unknown` (not
  started, not failed).
- The first check runs `initialDelaySeconds` after the container started, then one every
  `periodSeconds` (a missed tick is skipped, as a ticker does).
- The verdict flips to `Success` after `successThreshold` consecutive successes and to `Failure`
  after `failureThreshold` consecutive failures; fewer leave it as it was.
- A liveness or startup probe that reached `Failure` holds: the container is going to be killed,
  so it is not checked again until `reset()` for the container's next run.

All times are floats in seconds on one clock of the caller's choosing (the event loop's
`loop.time()` suits), passed in as `now` or `started_at`.
"""

from __future__ import annotations

import math
from enum import StrEnum

from controlplane.api.v1 import core_pb2

# Kubernetes' defaults (the API server applies them; these guard a probe that skipped defaulting).
DEFAULT_PERIOD_SECONDS = 10
DEFAULT_TIMEOUT_SECONDS = 1
DEFAULT_SUCCESS_THRESHOLD = 1
DEFAULT_FAILURE_THRESHOLD = 3


class ProbeKind(StrEnum):
    """The three probes; the value is the word Kubernetes' messages start with."""

    STARTUP = "Startup"
    LIVENESS = "Liveness"
    READINESS = "Readiness"


class Verdict(StrEnum):
    SUCCESS = "Success"
    FAILURE = "Failure"
    UNKNOWN = "Unknown"


INITIAL_VERDICT = {
    ProbeKind.READINESS: Verdict.FAILURE,
    ProbeKind.LIVENESS: Verdict.SUCCESS,
    ProbeKind.STARTUP: Verdict.UNKNOWN,
}


class ProbeState:
    """The state of one probe of one container run."""

    def __init__(self, kind: ProbeKind, probe: core_pb2.Probe, started_at: float) -> None:
        self.kind = kind
        self.probe = probe
        self.initial_delay = float(max(probe.initial_delay_seconds, 0))
        self.period = float(probe.period_seconds if probe.period_seconds > 0 else DEFAULT_PERIOD_SECONDS)
        self.timeout = float(probe.timeout_seconds if probe.timeout_seconds > 0 else DEFAULT_TIMEOUT_SECONDS)
        self.success_threshold = probe.success_threshold if probe.success_threshold > 0 else DEFAULT_SUCCESS_THRESHOLD
        self.failure_threshold = probe.failure_threshold if probe.failure_threshold > 0 else DEFAULT_FAILURE_THRESHOLD
        self.reset(started_at)

    def reset(self, started_at: float) -> None:
        """Start over for a new run of the container (after a restart), started at `started_at`."""
        self.started_at = started_at
        self._verdict = INITIAL_VERDICT[self.kind]
        self._last: bool | None = None
        self._run = 0
        self._held = False
        self._due = started_at + self.initial_delay

    @property
    def verdict(self) -> Verdict:
        return self._verdict

    @property
    def held(self) -> bool:
        """True after a liveness or startup failure, until `reset`: the container awaits its restart."""
        return self._held

    @property
    def consecutive(self) -> int:
        """How many results in a row were the same as the last one."""
        return self._run

    def next_due(self, now: float) -> float:
        """When the next check should run: never before `now`, `math.inf` while held."""
        if self._held:
            return math.inf
        return max(now, self._due)

    def is_due(self, now: float) -> bool:
        return not self._held and now >= self._due

    def record(self, success: bool, now: float) -> Verdict | None:
        """Take the result of a check that ended at `now`; the new verdict when it flips, else None.

        The next check is due on the period's next tick after `now`. A result arriving while held
        (a check that was already running when the verdict fell) is ignored.
        """
        if self._held:
            return None
        if now >= self._due:
            ticks = math.floor((now - self._due) / self.period) + 1
            self._due += ticks * self.period
        if success == self._last:
            self._run += 1
        else:
            self._last = success
            self._run = 1
        threshold = self.success_threshold if success else self.failure_threshold
        if self._run < threshold:
            return None
        result = Verdict.SUCCESS if success else Verdict.FAILURE
        if not success and self.kind in (ProbeKind.LIVENESS, ProbeKind.STARTUP):
            self._held = True
            self._run = 0
        if result == self._verdict:
            return None
        self._verdict = result
        return result
