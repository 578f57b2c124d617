"""The dissemination queue: news about members (alive, suspect, dead) waiting to be piggybacked on
the packets this member sends anyway (probes, acks) and on gossip rounds.

Each message is sent a bounded number of times in all, retransmit_mult x ceil(log10(n + 1)): in a
cluster of n members, gossip that every member passes on a few times reaches everyone with high
probability after O(log n) rounds, so more copies only cost bandwidth. The least-sent messages go
first (fresh news spreads fastest), the newest first among equals. A newer message about a member
replaces the queued one about the same member: only the latest word about anyone is worth sending.
"""

from __future__ import annotations

from dataclasses import dataclass

from agent.gossip.config import retransmit_limit


@dataclass(slots=True)
class _Queued:
    key: str
    message: bytes
    transmits: int
    order: int


class BroadcastQueue:
    def __init__(self, retransmit_mult: int) -> None:
        self.retransmit_mult = retransmit_mult
        self._items: dict[str, _Queued] = {}
        self._order = 0

    def __len__(self) -> int:
        return len(self._items)

    def queue(self, key: str, message: bytes) -> None:
        """Queue `message` about member `key`, replacing whatever was queued about it."""
        self._order += 1
        self._items[key] = _Queued(key, message, 0, self._order)

    def pending(self, key: str, message: bytes | None = None) -> bool:
        """Is a message about `key` (this very one, if given) still to be sent?"""
        item = self._items.get(key)
        return item is not None and (message is None or item.message == message)

    def transmits(self, key: str) -> int:
        item = self._items.get(key)
        return item.transmits if item is not None else 0

    def take(self, free: int, overhead: int, members: int, *, oversize: bool = False) -> list[bytes]:
        """Messages to piggyback within `free` bytes, each costing its length plus `overhead` (its
        framing in a compound packet); each taken one counts as sent once more, and leaves the queue
        when it has been sent retransmit_limit times. With `oversize`, a message too large for any
        packet is taken alone when nothing else fits (the transport then sends it over TCP)."""
        if not self._items:
            return []
        limit = max(1, retransmit_limit(self.retransmit_mult, members))
        chosen: list[_Queued] = []
        ordered = sorted(self._items.values(), key=lambda i: (i.transmits, -i.order))
        for item in ordered:
            cost = len(item.message) + overhead
            if cost <= free:
                free -= cost
                chosen.append(item)
        if not chosen and oversize:
            chosen.append(ordered[0])
        for item in chosen:
            item.transmits += 1
            if item.transmits >= limit:
                del self._items[item.key]
        return [item.message for item in chosen]

    def clear(self) -> None:
        self._items.clear()
