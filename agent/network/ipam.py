"""Pod addresses from the node's pod CIDR.

The core is pure: `next_free` picks the first unused address after the last one handed out (round
robin, as CNI's host-local does, so a just-freed address is not given to the next pod while stale
endpoints, ARP entries or connections may still point at it), skipping the network address, the
gateway (the first address, on the bridge) and the broadcast address.

`Ipam` keeps the allocations in files, one per address named by it and holding the pod uid, plus
the last address handed out; a restarted agent reads them back, so a pod keeps its address. Its
methods do blocking file I/O: call them from a thread. One process owns a state directory.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection
from pathlib import Path

from agent.network.cmd import NetworkError
from agent.network.files import write_atomic, write_exclusive

IPv4 = ipaddress.IPv4Address
LAST_RESERVED = "last_reserved_ip"


class RangeFull(NetworkError):
    pass


def pool(cidr: ipaddress.IPv4Network) -> tuple[IPv4, IPv4]:
    """First and last address a pod may get: after the gateway, before the broadcast address."""
    return cidr.network_address + 2, cidr.broadcast_address - 1


def pool_size(cidr: ipaddress.IPv4Network) -> int:
    first, last = pool(cidr)
    return max(0, int(last) - int(first) + 1)


def next_free(cidr: ipaddress.IPv4Network, used: Collection[IPv4], after: IPv4 | None = None) -> IPv4 | None:
    """The first address of the pool not in `used`, searching from just after `after` and wrapping."""
    first, last = pool(cidr)
    size = pool_size(cidr)
    if size == 0:
        return None
    start = int(first)
    if after is not None and first <= after <= last:
        start = int(after) + 1 if after < last else int(first)
    for step in range(size):
        candidate = IPv4(int(first) + (start - int(first) + step) % size)
        if candidate not in used:
            return candidate
    return None


class Ipam:
    """Allocations of one pod CIDR, persisted under `directory` (one file per address)."""

    def __init__(self, cidr: ipaddress.IPv4Network, directory: Path) -> None:
        self.cidr = cidr
        self.directory = directory
        self._owners: dict[IPv4, str] | None = None

    def owners(self) -> dict[IPv4, str]:
        """Address -> pod uid, for the addresses of this CIDR that are handed out."""
        if self._owners is None:
            self._owners = self._load()
        return self._owners

    def get(self, pod_uid: str) -> IPv4 | None:
        return next((address for address, owner in self.owners().items() if owner == pod_uid), None)

    def allocate(self, pod_uid: str) -> IPv4:
        """The pod's address: the one it already has, else the next free one (RangeFull if none)."""
        existing = self.get(pod_uid)
        if existing is not None:
            return existing
        owners = self.owners()
        address = next_free(self.cidr, owners.keys(), self._last_reserved())
        if address is None:
            raise RangeFull(f"no free pod IP address left in {self.cidr} ({len(owners)} in use): "
                            "delete pods on this node or give it a larger pod CIDR")
        self.directory.mkdir(parents=True, exist_ok=True)
        write_exclusive(self.directory / str(address), pod_uid)
        write_atomic(self.directory / LAST_RESERVED, str(address))
        owners[address] = pod_uid
        return address

    def release(self, pod_uid: str) -> IPv4 | None:
        """Free the pod's address (None if it had none)."""
        address = self.get(pod_uid)
        if address is not None:
            (self.directory / str(address)).unlink(missing_ok=True)
            del self.owners()[address]
        return address

    def release_all(self) -> None:
        for pod_uid in list(self.owners().values()):
            self.release(pod_uid)
        (self.directory / LAST_RESERVED).unlink(missing_ok=True)

    def _last_reserved(self) -> IPv4 | None:
        try:
            return IPv4((self.directory / LAST_RESERVED).read_text().strip())
        except (OSError, ValueError):
            return None

    def _load(self) -> dict[IPv4, str]:
        owners: dict[IPv4, str] = {}
        if not self.directory.is_dir():
            return owners
        for entry in self.directory.iterdir():
            try:
                address = IPv4(entry.name)
            except ValueError:
                continue  # last_reserved_ip, temporary files
            if address not in self.cidr:
                continue
            owner = entry.read_text().strip()
            if owner:
                owners[address] = owner
            else:  # a crash between creating the file and writing the uid: nobody got this address
                entry.unlink(missing_ok=True)
        return owners

