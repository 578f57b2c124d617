"""Kernel settings of the proxy's network namespace, set for as long as the proxy runs and then put
back as they were."""

from __future__ import annotations

import asyncio
from pathlib import Path

PROC_SYS = Path("/proc/sys")


def path_of(name: str) -> Path:
    return PROC_SYS / name.replace(".", "/")


def read(name: str) -> str | None:
    """The value of `name` (e.g. `net.ipv4.conf.all.arp_ignore`), None when it does not exist."""
    try:
        return path_of(name).read_text().strip()
    except OSError:
        return None


class Sysctls:
    def __init__(self) -> None:
        self._saved: dict[str, str] = {}

    async def set(self, name: str, value: str) -> None:
        old = await asyncio.to_thread(read, name)
        if old is None or old == value:
            return
        self._saved.setdefault(name, old)
        await asyncio.to_thread(path_of(name).write_text, value + "\n")

    async def restore(self) -> None:
        for name, value in reversed(list(self._saved.items())):
            await asyncio.to_thread(path_of(name).write_text, value + "\n")
        self._saved.clear()


def bridged_traffic_is_filtered() -> bool:
    """Whether frames crossing a bridge go through the IP hooks of netfilter here (br_netfilter's
    bridge-nf-call-iptables, per network namespace). Blocking: call from a thread."""
    return read("net.bridge.bridge-nf-call-iptables") == "1"
