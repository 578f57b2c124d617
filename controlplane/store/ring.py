"""The most recent events, in memory, so a watch catching up from a recent revision skips the disk. Pure.

Every revision is one event, so the ring holds a run of consecutive revisions; it answers a range
only when it still holds the range's first revision.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

from controlplane.store.interface import Event


class EventRing:
    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"ring capacity must be at least 1, not {capacity}")
        self._events: deque[Event] = deque(maxlen=capacity)

    def __len__(self) -> int:
        return len(self._events)

    def extend(self, events: Iterable[Event]) -> None:
        for event in events:
            if self._events and event.revision != self._events[-1].revision + 1:
                raise ValueError(f"event at revision {event.revision} does not follow "
                                 f"{self._events[-1].revision}")
            self._events.append(event)

    def page(self, prefix: str, after: int, upto: int, limit: int) -> list[Event] | None:
        """Up to `limit` events under `prefix` with after < revision <= upto, or None if the ring
        no longer (or not yet) holds revision after + 1."""
        if after >= upto:
            return []
        if not self._events:
            return None
        first = self._events[0].revision
        last = self._events[-1].revision
        if not first <= after + 1 or upto > last:
            return None
        found: list[Event] = []
        for index in range(after + 1 - first, upto + 1 - first):
            event = self._events[index]
            if event.kv.key.startswith(prefix):
                found.append(event)
                if len(found) >= limit:
                    break
        return found
