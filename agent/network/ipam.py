"""Pod addresses from the node's pod CIDR.

The core is pure: `next_free` picks the first unused address after the last one handed out (round
robin, as CNI's host-local does, so a just-freed address is not given to the next pod while stale
endpoints, ARP entries or connections may still point at it), skipping the network address, the
gateway (the first address, on the bridge) and the broadcast address.

`Ipam` keeps the allocations in files, one per address named by it and holding the pod uid, plus
the last address handed out; a restarted agent reads them back, so a pod keeps its address. Its
methods do blocking file I/O: call them from a thread; they may be called from several at once (a
lock of its own, held only while it works, so many pods starting at once do not queue for a thread
each behind a lock). One process owns a state directory.
"""

from __future__ import annotations

import ipaddress
import threading
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
        self._lock = threading.RLock()

    def owners(self) -> dict[IPv4, str]:
        """Address -> pod uid, for the addresses of this CIDR that are handed out (a copy)."""
        with self._lock:
            return dict(self._table())

    def get(self, pod_uid: str) -> IPv4 | None:
        with self._lock:
            return next((address for address, owner in self._table().items() if owner == pod_uid), None)

    def allocate(self, pod_uid: str) -> IPv4:
        """The pod's address: the one it already has, else the next free one (RangeFull if none)."""
        with self._lock:
            existing = self.get(pod_uid)
            if existing is not None:
                return existing
            owners = self._table()
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
        with self._lock:
            address = self.get(pod_uid)
            if address is not None:
                (self.directory / str(address)).unlink(missing_ok=True)
                del self._table()[address]
            return address

    def release_all(self) -> None:
        with self._lock:
            for pod_uid in list(self._table().values()):
                self.release(pod_uid)
            (self.directory / LAST_RESERVED).unlink(missing_ok=True)

    def _table(self) -> dict[IPv4, str]:
        """The allocations, read from disk the first time (call with the lock held)."""
        if self._owners is None:
            self._owners = self._load()
        return self._owners

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

