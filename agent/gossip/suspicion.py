"""One suspicion: the timer that turns a suspect member into a dead one unless it refutes first.

Lifeguard's rule: the timer starts at `max` and shrinks toward `min` as other members confirm,
independently, that they suspect the same member too; after k confirmations it stands at `min`.

    timeout(c) = max(min, max - (max - min) * log(c + 1) / log(k + 1))

The logarithm makes the first confirmations count most: one other witness already says a lot,
the tenth adds little. With k = 0 (no one else could confirm) the timer is `min` from the start.
Pure: the caller passes `now` and asks for the deadline.
"""

from __future__ import annotations

import math


def suspicion_duration(confirmations: int, k: int, minimum: float, maximum: float) -> float:
    """The whole suspicion's length, from its start, after `confirmations` of the k wanted."""
    if k < 1 or confirmations >= k:
        return minimum
    fraction = math.log(confirmations + 1) / math.log(k + 1)
    raw = maximum - fraction * (maximum - minimum)
    return max(minimum, math.floor(raw * 1000) / 1000)  # whole milliseconds, as memberlist


class Suspicion:
    def __init__(self, accuser: str, k: int, minimum: float, maximum: float, start: float) -> None:
        if minimum <= 0 or maximum < minimum:
            raise ValueError(f"suspicion bounds must be 0 < min <= max (got {minimum}, {maximum})")
        self.k = k
        self.minimum = minimum
        self.maximum = maximum
        self.start = start
        # The first accuser is not a confirmation: our own suspicion may come back to us by gossip.
        self._witnesses = {accuser}
        self.confirmations = 0

    def confirm(self, witness: str) -> bool:
        """Another member suspects it too: True when that is new (and so worth gossiping on)."""
        if self.confirmations >= self.k or witness in self._witnesses:
            return False
        self._witnesses.add(witness)
        self.confirmations += 1
        return True

    @property
    def deadline(self) -> float:
        return self.start + suspicion_duration(self.confirmations, self.k, self.minimum, self.maximum)

    def expired(self, now: float) -> bool:
        return now >= self.deadline
