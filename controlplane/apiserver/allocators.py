"""Service address and port allocators: cluster IPs from the service CIDR, node ports from their range.

Pure bookkeeping: the registry rebuilds them from stored Services at start and keeps them in step
with every write. Kubernetes' own split is kept: the first part of the service range is a "static"
band that dynamic allocation uses only when the rest is full, so well-known addresses such as the
cluster DNS service's 10.96.0.10 stay free for whoever asks for them by name.
"""

from __future__ import annotations

import ipaddress
import random
from collections.abc import Callable
from dataclasses import dataclass, field


class AllocationError(ValueError):
    pass


@dataclass
class ClusterIPAllocator:
    cidr: ipaddress.IPv4Network
    rng: random.Random = field(default_factory=random.Random)
    used: set[ipaddress.IPv4Address] = field(default_factory=set)

    @property
    def _first(self) -> int:
        return int(self.cidr.network_address) + 1

    @property
    def _last(self) -> int:
        return int(self.cidr.broadcast_address) - 1

    @property
    def _static_band_end(self) -> int:
        size = self._last - self._first + 1
        return self._first + min(max(16, size // 16), 256) - 1

    def reserve(self, address: str) -> None:
        """Take a specific address (AllocationError if outside the range or taken)."""
        ip = ipaddress.IPv4Address(address)
        if not self._first <= int(ip) <= self._last:
            raise AllocationError(
                f"the provided IP ({ip}) is not in the valid range. The range of valid IPs is {self.cidr}")
        if ip in self.used:
            raise AllocationError("provided IP is already allocated")
        self.used.add(ip)

    def allocate(self) -> str:
        """Take a free address: the dynamic band first, then the static band."""
        for low, high in ((self._static_band_end + 1, self._last), (self._first, self._static_band_end)):
            found = _free_in(low, high, lambda n: ipaddress.IPv4Address(n) in self.used, self.rng)
            if found is not None:
                ip = ipaddress.IPv4Address(found)
                self.used.add(ip)
                return str(ip)
        raise AllocationError(f"range is full: no IP addresses left in {self.cidr}")

    def release(self, address: str) -> None:
        self.used.discard(ipaddress.IPv4Address(address))

    def contains(self, address: str) -> bool:
        return ipaddress.IPv4Address(address) in self.cidr


@dataclass
class PortAllocator:
    low: int
    high: int
    rng: random.Random = field(default_factory=random.Random)
    used: set[int] = field(default_factory=set)

    def reserve(self, port: int) -> None:
        if not self.low <= port <= self.high:
            raise AllocationError(
                f"provided port is not in the valid range. The range of valid ports is {self.low}-{self.high}")
        if port in self.used:
            raise AllocationError("provided port is already allocated")
        self.used.add(port)

    def allocate(self) -> int:
        found = _free_in(self.low, self.high, lambda n: n in self.used, self.rng)
        if found is None:
            raise AllocationError(f"range is full: no node ports left in {self.low}-{self.high}")
        self.used.add(found)
        return found

    def release(self, port: int) -> None:
        self.used.discard(port)


def _free_in(low: int, high: int, taken: Callable[[int], bool], rng: random.Random) -> int | None:
    """A free number in [low, high], starting the scan at a random offset so allocations spread."""
    size = high - low + 1
    if size <= 0:
        return None
    start = rng.randrange(size)
    for step in range(size):
        candidate = low + (start + step) % size
        if not taken(candidate):
            return candidate
    return None
