"""The pool of load balancer addresses (pure): `10.240.0.200-10.240.0.250`, a CIDR, or a list of
either separated by commas. The controller manager allocates from it; each proxy announces only
addresses inside it (an address someone wrote into a Service's status by hand is proxied, never
claimed on the network)."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

Range = tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]


class PoolError(ValueError):
    """A pool that cannot be parsed (one line, quotes the text)."""


@dataclass(frozen=True, slots=True)
class AddressPool:
    ranges: tuple[Range, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.ranges)

    def __contains__(self, address: object) -> bool:
        try:
            ip = ipaddress.IPv4Address(str(address))
        except ValueError:
            return False
        return any(first <= ip <= last for first, last in self.ranges)

    def __iter__(self) -> Iterator[str]:
        for first, last in self.ranges:
            for number in range(int(first), int(last) + 1):
                yield str(ipaddress.IPv4Address(number))

    def __len__(self) -> int:
        return sum(int(last) - int(first) + 1 for first, last in self.ranges)

    def first_free(self, used: Iterable[str]) -> str | None:
        """The lowest address of the pool not in `used`."""
        taken = set(used)
        return next((address for address in self if address not in taken), None)

    def __str__(self) -> str:
        return ",".join(f"{first}-{last}" for first, last in self.ranges)


def parse_pool(text: str) -> AddressPool:
    ranges: list[Range] = []
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        try:
            if "-" in part:
                low, _, high = part.partition("-")
                first, last = ipaddress.IPv4Address(low.strip()), ipaddress.IPv4Address(high.strip())
            else:
                network = ipaddress.IPv4Network(part, strict=False)
                hosts = list(network.hosts()) if network.num_addresses > 2 else list(network)
                first, last = hosts[0], hosts[-1]
        except ValueError as error:
            raise PoolError(f"{part!r}: {error}") from None
        if last < first:
            raise PoolError(f"{part!r}: the range ends before it starts")
        ranges.append((first, last))
    return AddressPool(tuple(ranges))
