"""The current value of every key, in memory, kept sorted so a prefix lists in key order. Pure."""

from __future__ import annotations

import bisect

from controlplane.store.interface import Event, KeyValue


class KeySpace:
    def __init__(self, values: list[KeyValue] | None = None) -> None:
        self._values: dict[str, KeyValue] = {kv.key: kv for kv in values or ()}
        self._sorted: list[str] = sorted(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def get(self, key: str) -> KeyValue | None:
        return self._values.get(key)

    def under(self, prefix: str) -> list[KeyValue]:
        """The values of the keys starting with `prefix`, sorted by key."""
        keys = self._sorted
        found = []
        for index in range(bisect.bisect_left(keys, prefix), len(keys)):
            if not keys[index].startswith(prefix):
                break
            found.append(self._values[keys[index]])
        return found

    def apply(self, event: Event) -> None:
        key = event.kv.key
        if event.type == "PUT":
            if key not in self._values:
                bisect.insort(self._sorted, key)
            self._values[key] = event.kv
        elif self._values.pop(key, None) is not None:
            del self._sorted[bisect.bisect_left(self._sorted, key)]
