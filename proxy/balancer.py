"""Which endpoint a new connection tries first (pure): round-robin, with ClientIP affinity.

One `Balancer` per service port. `candidates` gives the order to try: the client's affinity
endpoint first when it has one that is still an endpoint and was used within the timeout, then
every endpoint in round-robin order (the turn moves on by one per connection, so a refusing
endpoint is skipped without starving the next). `connected` records the endpoint that answered,
which (re)starts the client's affinity, as kube-proxy's affinity sets are refreshed by every new
connection. Time is passed in (`now`, seconds).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from proxy.model import Endpoint

SWEEP_EVERY = 1024  # connections between sweeps of expired affinities


@dataclass(slots=True)
class Balancer:
    affinity_seconds: int = 0  # 0 = no affinity
    _turn: int = 0
    _affinity: dict[str, tuple[Endpoint, float]] = field(default_factory=dict)
    _until_sweep: int = SWEEP_EVERY

    def candidates(self, endpoints: Sequence[Endpoint], client_ip: str, now: float) -> list[Endpoint]:
        if not endpoints:
            return []
        start = self._turn % len(endpoints)
        self._turn = start + 1
        order = [*endpoints[start:], *endpoints[:start]]
        sticky = self.sticky(client_ip, now)
        if sticky is not None and sticky in endpoints:
            order.remove(sticky)
            order.insert(0, sticky)
        return order

    def sticky(self, client_ip: str, now: float) -> Endpoint | None:
        """The client's affinity endpoint, if it still holds."""
        if not self.affinity_seconds:
            return None
        held = self._affinity.get(client_ip)
        if held is None:
            return None
        if now - held[1] > self.affinity_seconds:
            del self._affinity[client_ip]
            return None
        return held[0]

    def connected(self, endpoint: Endpoint, client_ip: str, now: float) -> None:
        if not self.affinity_seconds:
            return
        self._affinity[client_ip] = (endpoint, now)
        self._until_sweep -= 1
        if self._until_sweep <= 0:
            self.sweep(now)

    def sweep(self, now: float) -> None:
        """Forget affinities that timed out."""
        self._until_sweep = SWEEP_EVERY
        for client, (_, seen) in list(self._affinity.items()):
            if now - seen > self.affinity_seconds:
                del self._affinity[client]

    def retarget(self, affinity_seconds: int, endpoints: Sequence[Endpoint]) -> None:
        """The service port changed: a new timeout applies; affinities to endpoints that are gone end."""
        if affinity_seconds != self.affinity_seconds:
            self.affinity_seconds = affinity_seconds
            if not affinity_seconds:
                self._affinity.clear()
        present = set(endpoints)
        for client, (endpoint, _) in list(self._affinity.items()):
            if endpoint not in present:
                del self._affinity[client]

    def __len__(self) -> int:
        return len(self._affinity)
