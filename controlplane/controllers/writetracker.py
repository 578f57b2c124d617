"""What a controller wrote, per key, so that it does not act on a cache that has not seen it yet.

Informer caches lag the writes a controller makes. A reconcile that read a cache without its own
last write would, say, create a second EndpointSlice where it had just created one. So after
writing, a controller notes the revision each write returned; until the cache's informer has seen
that revision (its resourceVersion is at least that), the key waits. Revisions only grow, and an
informer's resourceVersion is the last revision it has applied, so "seen" is one comparison.
"""

from __future__ import annotations

# A key whose last write the cache has not seen yet is looked at again this soon (the write's own
# event usually brings it back sooner).
STALE_RETRY = 0.05


def _revision(resource_version: str) -> int:
    try:
        return int(resource_version)
    except ValueError:
        return 0


class WriteTracker:
    def __init__(self) -> None:
        self._needed: dict[str, int] = {}

    def wrote(self, key: str, resource_version: str) -> None:
        revision = _revision(resource_version)
        if revision > self._needed.get(key, 0):
            self._needed[key] = revision

    def caught_up(self, key: str, cache_version: str) -> bool:
        """Whether a cache at `cache_version` has seen every write recorded for `key` (forgotten once it has)."""
        needed = self._needed.get(key)
        if needed is None:
            return True
        if _revision(cache_version) >= needed:
            del self._needed[key]
            return True
        return False

    def __len__(self) -> int:
        return len(self._needed)
