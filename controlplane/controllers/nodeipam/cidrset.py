"""The pod ranges of a cluster CIDR cut into equal subnets, and which of them are taken. Pure.

Like Kubernetes' cidrset, the next allocation starts after the last one and wraps around, so a
range just released (a node deleted) is handed out again only when every other range is taken:
routes and address records that still name it have time to go away.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator


class CidrSetError(ValueError):
    pass


class CidrSet:
    def __init__(self, cluster: ipaddress.IPv4Network, mask_size: int) -> None:
        if not cluster.prefixlen <= mask_size <= 32:
            raise CidrSetError(f"mask size {mask_size} does not fit in {cluster}")
        self.cluster = cluster
        self.mask_size = mask_size
        self.size = 1 << (mask_size - cluster.prefixlen)
        self._step = 1 << (32 - mask_size)
        self._base = int(cluster.network_address)
        self._used: set[int] = set()
        self._next = 0

    def __len__(self) -> int:
        """How many subnets are taken."""
        return len(self._used)

    def subnet(self, index: int) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network((self._base + index * self._step, self.mask_size))

    def _indices(self, cidr: ipaddress.IPv4Network) -> range:
        """The subnets `cidr` covers (or the one that holds it, when it is narrower than a subnet)."""
        if not cidr.subnet_of(self.cluster):
            raise CidrSetError(f"{cidr} is not inside the cluster CIDR {self.cluster}")
        first = (int(cidr.network_address) - self._base) // self._step
        last = (int(cidr.broadcast_address) - self._base) // self._step
        return range(first, last + 1)

    def contains(self, cidr: ipaddress.IPv4Network) -> bool:
        return cidr.subnet_of(self.cluster)

    def occupy(self, cidr: ipaddress.IPv4Network) -> None:
        """Mark `cidr` taken (a node already carries it)."""
        self._used.update(self._indices(cidr))

    def release(self, cidr: ipaddress.IPv4Network) -> None:
        self._used.difference_update(self._indices(cidr))

    def is_used(self, cidr: ipaddress.IPv4Network) -> bool:
        return any(index in self._used for index in self._indices(cidr))

    def allocate(self) -> ipaddress.IPv4Network | None:
        """The next free subnet after the last one handed out, now taken; None when all are taken."""
        for index in self._candidates():
            if index not in self._used:
                self._used.add(index)
                self._next = (index + 1) % self.size
                return self.subnet(index)
        return None

    def _candidates(self) -> Iterator[int]:
        for offset in range(self.size):
            yield (self._next + offset) % self.size
