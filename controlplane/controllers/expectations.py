"""What a controller has asked for and not yet seen in its cache (Kubernetes' ControllerExpectations,
with deletions tracked by pod key as in UIDTrackingControllerExpectations).

A ReplicaSet that just created 3 pods must not look at its cache, which may not have them yet, and
create 3 more. So before acting it records what it expects (3 creations; these 2 pod deletions), the
watch handlers tick them off as the pods appear or go, and the controller acts again only once all
were seen, or after a timeout (a lost event must not block it forever). Pure: time is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# Kubernetes' ExpectationsTimeout: after this, expectations are considered met whatever was seen.
EXPECTATIONS_TIMEOUT = 300.0


@dataclass
class _Expected:
    creations: int
    deletions: set[str] = field(default_factory=set)
    since: float = 0.0


class Expectations:
    def __init__(self, timeout: float = EXPECTATIONS_TIMEOUT) -> None:
        self.timeout = timeout
        self._by_key: dict[str, _Expected] = {}

    def expect_creations(self, key: str, count: int, now: float) -> None:
        self._by_key[key] = _Expected(count, set(), now)

    def expect_deletions(self, key: str, pod_keys: Iterable[str], now: float) -> None:
        self._by_key[key] = _Expected(0, set(pod_keys), now)

    def creation_observed(self, key: str) -> None:
        expected = self._by_key.get(key)
        if expected is not None:
            expected.creations -= 1

    def deletion_observed(self, key: str, pod_key: str) -> None:
        expected = self._by_key.get(key)
        if expected is not None:
            expected.deletions.discard(pod_key)

    def satisfied(self, key: str, now: float) -> bool:
        """True when nothing is awaited for `key` (or what was awaited is older than the timeout)."""
        expected = self._by_key.get(key)
        if expected is None:
            return True
        fulfilled = expected.creations <= 0 and not expected.deletions
        return fulfilled or now - expected.since > self.timeout

    def forget(self, key: str) -> None:
        self._by_key.pop(key, None)

    def pending(self, key: str) -> tuple[int, int]:
        """(creations, deletions) still awaited, for logs and tests."""
        expected = self._by_key.get(key)
        return (max(expected.creations, 0), len(expected.deletions)) if expected else (0, 0)
