"""When each hollow node's periodic writes are due: its Lease every renew interval and its status
every status interval, the nodes spread evenly over each interval (node i of n starts i/n of the way
in), so that 5,000 nodes make a steady trickle of writes instead of a burst. Pure: time comes in."""

from __future__ import annotations

import heapq
from dataclasses import dataclass

LEASE = "lease"
STATUS = "status"


@dataclass(frozen=True, slots=True, order=True)
class Due:
    at: float
    kind: str
    index: int


class Timetable:
    def __init__(self, count: int, intervals: dict[str, float], start: float) -> None:
        self.intervals = intervals
        self._heap: list[Due] = []
        for kind, interval in intervals.items():
            for index in range(count):
                self._heap.append(Due(start + interval * index / count, kind, index))
        heapq.heapify(self._heap)

    def next_at(self) -> float | None:
        return self._heap[0].at if self._heap else None

    def take_due(self, now: float) -> list[Due]:
        """Every write due by `now`; each is booked again one interval later (one interval from now
        when the writes fell behind by more than an interval)."""
        due = []
        while self._heap and self._heap[0].at <= now:
            item = heapq.heappop(self._heap)
            due.append(item)
            interval = self.intervals[item.kind]
            following = item.at + interval
            heapq.heappush(self._heap, Due(following if following > now else now + interval, item.kind, item.index))
        return due
