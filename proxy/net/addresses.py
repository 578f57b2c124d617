"""Addresses the proxy puts on the node's interfaces, and only those.

- `ServiceInterface`: the dummy interface that carries every service address (userspace mode), made
  when the proxy starts (a leftover of a killed proxy is replaced) and deleted when it stops. Kernels
  built without dummy interfaces get an `ifb` device instead, which behaves the same for this use.
- `LabelledAddresses`: /32s on an existing interface (the node's own, for load balancer addresses),
  recognised by their label (`eth0:klb`) so that a restarted proxy removes what its predecessor
  left and never touches any other address.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import structlog

from agent.network.cmd import CommandError, delete_link, ip, ip_json

log = structlog.get_logger("proxy.net")

IFNAMSIZ = 15
LABEL_SUFFIX = ":klb"


def _locals(links: list[dict[str, Any]]) -> set[str]:
    """The addresses in `ip -j addr show` output."""
    return {str(info["local"]) for link in links for info in link.get("addr_info") or []
            if isinstance(info, dict) and info.get("local")}


def _missing(error: CommandError) -> bool:
    return any(text in error.stderr for text in ("Cannot find device", "does not exist", "Cannot assign"))


async def _batch(lines: Iterable[str]) -> None:
    """One `ip -batch` with `-force`: every line is tried, the first failure is reported after."""
    text = "".join(line + "\n" for line in lines)
    if text:
        await ip("-force", "-batch", "-", stdin=text)


async def interface_of(address: str) -> str | None:
    """The interface that holds `address`."""
    for link in await ip_json("-4", "addr", "show"):
        if address in _locals([link]):
            return str(link.get("ifname"))
    return None


async def local_addresses() -> set[str]:
    """Every IPv4 address of this network namespace."""
    return _locals(await ip_json("-4", "addr", "show"))


class ServiceInterface:
    def __init__(self, name: str) -> None:
        if len(name) > IFNAMSIZ:
            raise ValueError(f"interface name {name!r} is longer than {IFNAMSIZ} characters")
        self.name = name
        self.addresses: set[str] = set()

    async def create(self) -> None:
        await self.delete()
        try:
            await ip("link", "add", self.name, "type", "dummy")
        except CommandError as error:
            if "Unknown device type" not in error.stderr and "not supported" not in error.stderr:
                raise
            log.info("interface.fallback", interface=self.name, kind="ifb", reason="this kernel has no dummy devices")
            await ip("link", "add", self.name, "type", "ifb")
        await ip("link", "set", self.name, "up")
        self.addresses = set()

    async def sync(self, wanted: set[str]) -> None:
        """Make the interface carry exactly `wanted` (as /32s)."""
        add = sorted(wanted - self.addresses)
        remove = sorted(self.addresses - wanted)
        if not add and not remove:
            return
        try:
            await _batch([*(f"addr del {a}/32 dev {self.name}" for a in remove),
                          *(f"addr replace {a}/32 dev {self.name}" for a in add)])
        finally:
            self.addresses = await self._current()
        log.info("interface.addresses", interface=self.name, added=add, removed=remove)

    async def _current(self) -> set[str]:
        return _locals(await ip_json("-4", "addr", "show", "dev", self.name))

    async def delete(self) -> None:
        await delete_link(self.name)
        self.addresses = set()


def address_label(device: str) -> str | None:
    """The label of the proxy's addresses on `device`, None when the name leaves no room for one."""
    for suffix in (LABEL_SUFFIX, ":k"):
        if len(device) + len(suffix) <= IFNAMSIZ:
            return device + suffix
    return None


class LabelledAddresses:
    def __init__(self, device: str) -> None:
        self.device = device
        self.label = address_label(device)
        self.addresses: set[str] = set()

    async def adopt(self) -> None:
        """Take over the addresses a previous proxy left (by their label)."""
        if self.label is None:
            log.warning("interface.no_label", interface=self.device,
                        reason="the name is too long for a label; addresses left by a killed proxy are not found")
            return
        self.addresses = await self._current()

    async def _current(self) -> set[str]:
        if self.label is None:
            return set(self.addresses)
        return _locals(await ip_json("-4", "addr", "show", "dev", self.device, "label", self.label))

    async def sync(self, wanted: set[str]) -> list[str]:
        """Make the labelled /32s exactly `wanted`; the addresses that were added."""
        add = sorted(wanted - self.addresses)
        remove = sorted(self.addresses - wanted)
        if not add and not remove:
            return []
        label = f" label {self.label}" if self.label else ""
        try:
            await _batch([*(f"addr del {a}/32 dev {self.device}" for a in remove),
                          *(f"addr replace {a}/32 dev {self.device}{label}" for a in add)])
        finally:
            self.addresses = await self._current() if self.label else (self.addresses - set(remove)) | set(add)
        log.info("interface.addresses", interface=self.device, added=add, removed=remove)
        return [a for a in add if a in self.addresses]
