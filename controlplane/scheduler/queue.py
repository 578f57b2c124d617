"""The queue of pods waiting for a node (kube-scheduler's PriorityQueue), pure: time is passed in.

- activeQ: pods to try now, highest priority first, then first come.
- backoffQ: pods that failed and wait out their back-off: 1 s after the first attempt, doubling
  with each attempt, at most 10 s (both settable), counted from the failure.
- unschedulable: pods no node could take; they stay until a cluster event that may help them
  (clusterevents.may_help) moves them to backoffQ (still backing off) or activeQ, or until they
  have waited `max_unschedulable` (5 min) and a flush moves them anyway.
- in flight: popped and being scheduled or bound. A pod updated or a helpful event seen meanwhile
  does not wait in unschedulable after a failure, as the change may be what it needed.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field

from controlplane.scheduler.clusterevents import UNSCHEDULABLE_TIMEOUT, may_help
from controlplane.scheduler.podinfo import PodInfo


@dataclass
class QueuedPod:
    info: PodInfo
    timestamp: float  # when it last entered the queue (orders activeQ, starts the back-off)
    attempts: int = 0
    rejected_by: frozenset[str] = frozenset()
    cycle: int = 0  # the scheduling cycle in which it was last popped
    # while in flight:
    latest: PodInfo | None = None  # an update seen meanwhile
    deleted: bool = False
    events: set[str] = field(default_factory=set)  # cluster events seen meanwhile

    @property
    def key(self) -> str:
        return self.info.key


def changed_for_scheduling(old: PodInfo, new: PodInfo) -> bool:
    """An update that may change where the pod fits (not its status, say)."""
    return old.labels != new.labels or old.pod.spec != new.pod.spec


class SchedulingQueue:
    def __init__(self, initial_backoff: float = 1.0, max_backoff: float = 10.0,
                 max_unschedulable: float = 300.0) -> None:
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.max_unschedulable = max_unschedulable
        self.cycle = 0
        self._active: list[tuple[int, float, int, str]] = []  # (-priority, timestamp, seq, key)
        self._active_pods: dict[str, tuple[int, QueuedPod]] = {}  # key -> (seq of its heap entry, pod)
        self._backoff: list[tuple[float, int, str]] = []  # (expiry, seq, key)
        self._backoff_pods: dict[str, tuple[int, QueuedPod]] = {}
        self._unschedulable: dict[str, QueuedPod] = {}
        self._in_flight: dict[str, QueuedPod] = {}
        self._seq = 0

    # ------------------------------------------------------------------------------------- looking

    def __len__(self) -> int:
        return len(self._active_pods) + len(self._backoff_pods) + len(self._unschedulable) + len(self._in_flight)

    @property
    def active(self) -> int:
        return len(self._active_pods)

    @property
    def backing_off(self) -> int:
        return len(self._backoff_pods)

    @property
    def unschedulable(self) -> int:
        return len(self._unschedulable)

    def where(self, key: str) -> str | None:
        for name, place in (("active", self._active_pods), ("backoff", self._backoff_pods),
                            ("unschedulable", self._unschedulable), ("in-flight", self._in_flight)):
            if key in place:
                return name
        return None

    def info(self, key: str) -> PodInfo | None:
        """The latest version of a queued pod, wherever it waits."""
        for place in (self._active_pods, self._backoff_pods):
            entry = place.get(key)
            if entry is not None:
                return entry[1].info
        queued = self._unschedulable.get(key) or self._in_flight.get(key)
        if queued is None:
            return None
        return queued.latest or queued.info

    def backoff_duration(self, attempts: int) -> float:
        duration = self.initial_backoff
        for _ in range(1, attempts):
            duration *= 2
            if duration > self.max_backoff:
                return self.max_backoff
        return min(duration, self.max_backoff)

    def backoff_expiry(self, queued: QueuedPod) -> float:
        return queued.timestamp + self.backoff_duration(queued.attempts)

    def next_wakeup(self) -> float | None:
        """When the next back-off ends or the next unschedulable pod is due for the flush."""
        times = []
        while self._backoff and self._backoff_pods.get(self._backoff[0][2], (-1,))[0] != self._backoff[0][1]:
            heapq.heappop(self._backoff)  # stale entry
        if self._backoff:
            times.append(self._backoff[0][0])
        if self._unschedulable:
            times.append(min(q.timestamp for q in self._unschedulable.values()) + self.max_unschedulable)
        return min(times) if times else None

    # ------------------------------------------------------------------------------------- changes

    def add(self, info: PodInfo, now: float) -> None:
        """A pod that waits for a node, new or updated."""
        key = info.key
        flying = self._in_flight.get(key)
        if flying is not None:
            flying.latest = info
            return
        found = self._take(key)
        if found is None:
            self._push_active(QueuedPod(info, now))
            return
        queued, place = found
        old, queued.info = queued.info, info
        if place == "active":
            self._push_active(queued)
        elif place == "backoff":
            self._push_backoff(queued)
        elif changed_for_scheduling(old, info):
            self._move(queued, now)
        else:
            self._unschedulable[key] = queued

    def delete(self, key: str) -> None:
        """The pod is gone, or bound, or no longer ours."""
        flying = self._in_flight.get(key)
        if flying is not None:
            flying.deleted = True
        self._take(key)

    def pop(self) -> QueuedPod | None:
        """The next pod to schedule (it is then in flight until `done` or `failed`)."""
        while self._active:
            _, _, seq, key = heapq.heappop(self._active)
            entry = self._active_pods.get(key)
            if entry is None or entry[0] != seq:
                continue
            del self._active_pods[key]
            queued = entry[1]
            self.cycle += 1
            queued.cycle = self.cycle
            queued.attempts += 1
            queued.latest, queued.deleted, queued.events = None, False, set()
            self._in_flight[key] = queued
            return queued
        return None

    def done(self, key: str) -> None:
        """The pod in flight was bound (or dropped): it leaves the queue."""
        self._in_flight.pop(key, None)

    def failed(self, key: str, rejected_by: frozenset[str], now: float, *, unschedulable: bool = True) -> None:
        """The pod in flight fits nowhere (`unschedulable`), or its scheduling or binding failed."""
        queued = self._in_flight.pop(key, None)
        if queued is None or queued.deleted:
            return
        updated = queued.latest is not None and changed_for_scheduling(queued.info, queued.latest)
        if queued.latest is not None:
            queued.info = queued.latest
        queued.timestamp = now
        queued.rejected_by = rejected_by
        helped = any(may_help(event, rejected_by) for event in queued.events)
        if not unschedulable or updated or helped:
            self._push_backoff(queued)
        else:
            self._unschedulable[key] = queued

    def on_event(self, event: str, now: float) -> int:
        """A cluster event: move the waiting pods it may help; returns how many moved."""
        for queued in self._in_flight.values():
            queued.events.add(event)
        moving = [q for q in self._unschedulable.values() if may_help(event, q.rejected_by)]
        for queued in moving:
            del self._unschedulable[queued.key]
            self._move(queued, now)
        return len(moving)

    def flush(self, now: float) -> None:
        """Back-offs that ended go to activeQ; pods unschedulable for too long are moved."""
        while self._backoff and self._backoff[0][0] <= now:
            _, seq, key = heapq.heappop(self._backoff)
            entry = self._backoff_pods.get(key)
            if entry is None or entry[0] != seq:
                continue
            del self._backoff_pods[key]
            self._push_active(entry[1])
        overdue = [q for q in self._unschedulable.values() if now - q.timestamp >= self.max_unschedulable]
        for queued in overdue:
            del self._unschedulable[queued.key]
            queued.events.add(UNSCHEDULABLE_TIMEOUT)
            self._move(queued, now)

    # ------------------------------------------------------------------------------------- inside

    def _move(self, queued: QueuedPod, now: float) -> None:
        if self.backoff_expiry(queued) > now:
            self._push_backoff(queued)
        else:
            self._push_active(queued)

    def _push_active(self, queued: QueuedPod) -> None:
        self._seq += 1
        self._active_pods[queued.key] = (self._seq, queued)
        heapq.heappush(self._active, (-queued.info.priority, queued.timestamp, self._seq, queued.key))

    def _push_backoff(self, queued: QueuedPod) -> None:
        self._seq += 1
        self._backoff_pods[queued.key] = (self._seq, queued)
        heapq.heappush(self._backoff, (self.backoff_expiry(queued), self._seq, queued.key))

    def _take(self, key: str) -> tuple[QueuedPod, str] | None:
        """Remove the pod from whichever queue holds it (heap entries go stale)."""
        if key in self._active_pods:
            return self._active_pods.pop(key)[1], "active"
        if key in self._backoff_pods:
            return self._backoff_pods.pop(key)[1], "backoff"
        if key in self._unschedulable:
            return self._unschedulable.pop(key), "unschedulable"
        return None
