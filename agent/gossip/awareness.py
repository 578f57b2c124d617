"""Lifeguard's local health: a score that rises when this member seems to be the one in trouble
(its probes fail without the nacks that healthy helpers would send, it has to refute accusations)
and falls with every successful probe. Timeouts are stretched by (score + 1), so a member that is
slow itself (a starved CPU, a blocked event loop, a lossy link of its own) waits longer before it
accuses others, instead of spreading false suspicions."""

from __future__ import annotations


class Awareness:
    def __init__(self, max_multiplier: int) -> None:
        if max_multiplier < 1:
            raise ValueError("awareness max multiplier must be at least 1")
        self.max_multiplier = max_multiplier
        self.score = 0

    def apply(self, delta: int) -> int:
        """Change the score by delta, kept within [0, max_multiplier - 1]; the new score."""
        self.score = min(max(self.score + delta, 0), self.max_multiplier - 1)
        return self.score

    def scale(self, timeout: float) -> float:
        return timeout * (self.score + 1)
