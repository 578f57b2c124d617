"""CrashLoopBackOff: how long a container that keeps ending waits before its next start.

Kubernetes keeps one back-off per container (flowcontrol.Backoff in the kubelet), and this is it,
with the same arithmetic:

- The first exit (or the first after a reset) is restarted at once, and arms the back-off at
  `initial` (10 s).
- Each further exit waits the current delay, counted from the moment the container finished;
  the delay then grows by `factor` (2) up to `maximum` (300 s): waits of 10 s, 20 s, 40 s, 80 s,
  160 s, 300 s, 300 s ...
- A run longer than `reset_after` (600 s, "10 minutes without a problem") forgets the history:
  its exit is restarted at once again.

While a container waits, its status is `waiting` with reason `CrashLoopBackOff` and the message
`back-off 20s restarting failed container=api pod=web-1_default(uid)`, and each time the agent
looks at it an event `Back-off restarting failed container api in pod web-1_default(uid)` is
recorded (see `events.back_off_restarting`). The four numbers are parameters so tests and the lab
can use short ones.

Times are plain floats in seconds on one clock of the caller's choosing (wall clock or monotonic),
the same for every call.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.lifecycle.goformat import go_duration, pod_ref

REASON_CRASH_LOOP_BACK_OFF = "CrashLoopBackOff"


@dataclass(frozen=True, slots=True)
class BackOffPolicy:
    """The numbers of a back-off, Kubernetes' by default."""

    initial: float = 10.0  # the first wait (seconds), armed by the first exit
    maximum: float = 300.0  # the longest wait (MaxContainerBackOff, 5 minutes)
    reset_after: float = 600.0  # a run longer than this forgets the history (2 x maximum in the kubelet)
    factor: float = 2.0  # each wait is this many times the previous one

    def __post_init__(self) -> None:
        if self.initial < 0 or self.maximum < 0 or self.reset_after < 0:
            raise ValueError("back-off durations must not be negative")
        if self.factor < 1:
            raise ValueError("the back-off factor must be at least 1")


class RestartBackOff:
    """The back-off of one container (one per container name in one pod)."""

    def __init__(self, initial: float = 10.0, maximum: float = 300.0, reset_after: float = 600.0, *,
                 factor: float = 2.0) -> None:
        self.policy = BackOffPolicy(initial=initial, maximum=maximum, reset_after=reset_after, factor=factor)
        self._window: float | None = None  # the wait the next exit gets; None: not armed
        self._finished_at: float | None = None  # the latest exit seen
        self._wait = 0.0  # the wait given to that exit

    @classmethod
    def from_policy(cls, policy: BackOffPolicy) -> RestartBackOff:
        return cls(policy.initial, policy.maximum, policy.reset_after, factor=policy.factor)

    def next_restart_at(self, now: float, finished_at: float, ran_for: float) -> float:
        """When the container that finished at `finished_at`, after running `ran_for` seconds, may
        start again: `finished_at` plus its back-off, and never earlier than `now`.

        Call it once an exit is known; calling it again for the same `finished_at` (a reconcile loop
        looking twice) gives the same answer and does not grow the back-off.
        """
        if finished_at != self._finished_at:
            self._finished_at = finished_at
            if self._window is None or ran_for > self.policy.reset_after:
                self._wait = 0.0  # restarted at once; the next quick exit waits `initial`
                self._window = min(self.policy.initial, self.policy.maximum)
            else:
                self._wait = self._window
                self._window = min(self._window * self.policy.factor, self.policy.maximum)
        return max(now, finished_at + self._wait)

    @property
    def delay(self) -> float:
        """The wait given to the latest exit (0 when it is restarted at once), in seconds."""
        return self._wait

    def restart_at(self) -> float | None:
        """When the latest exit may be restarted; None before any exit."""
        return None if self._finished_at is None else self._finished_at + self._wait

    def in_back_off(self, now: float) -> bool:
        """Whether the latest exit is still waiting out its back-off at `now` (CrashLoopBackOff)."""
        restart_at = self.restart_at()
        return restart_at is not None and self._wait > 0 and now < restart_at

    def remaining(self, now: float) -> float:
        """Seconds left before the latest exit may be restarted (0 when it may be now)."""
        restart_at = self.restart_at()
        return 0.0 if restart_at is None else max(0.0, restart_at - now)

    def message(self, container: str, pod_name: str, namespace: str, uid: str) -> str:
        """The waiting message while in back-off, the kubelet's words with the current delay:

        `back-off 20s restarting failed container=api pod=web-1_default(0d3c...)`
        """
        return (f"back-off {go_duration(self._wait)} restarting failed container={container} "
                f"pod={pod_ref(pod_name, namespace, uid)}")

    def reset(self) -> None:
        """Forget every exit (the container's spec changed, as a new hash starts a new back-off)."""
        self._window = None
        self._finished_at = None
        self._wait = 0.0
