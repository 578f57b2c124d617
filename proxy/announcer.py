"""Answering for load balancer addresses on this node's interface: the addresses this node owns
(announce.py decides) are added as /32s to the interface that holds the node's IP, each followed by
gratuitous ARP so that neighbours follow at once; the others are removed. Everything is removed when
the proxy stops."""

from __future__ import annotations

import asyncio

import structlog

from proxy.net import garp
from proxy.net.addresses import LabelledAddresses, interface_of

log = structlog.get_logger("proxy.announcer")

REPEAT_AFTER = (0.5, 2.0)  # seconds after the first announcement to announce again (a frame may be lost)


class Announcer:
    def __init__(self, node_ip: str) -> None:
        self.node_ip = node_ip
        self.addresses: LabelledAddresses | None = None

    async def start(self) -> None:
        device = await interface_of(self.node_ip)
        if device is None:
            log.warning("announcer.no_interface", node_ip=self.node_ip,
                        consequence="load balancer addresses are not announced from this node")
            return
        self.addresses = LabelledAddresses(device)
        await self.addresses.adopt()

    @property
    def owned(self) -> set[str]:
        return set(self.addresses.addresses) if self.addresses is not None else set()

    async def sync(self, wanted: set[str]) -> None:
        if self.addresses is None:
            return
        added = await self.addresses.sync(wanted)
        loop = asyncio.get_running_loop()
        for address in added:
            self._announce(address)
            for delay in REPEAT_AFTER:
                loop.call_later(delay, self._announce_if_held, address)
            log.info("loadbalancer.announced", address=address, interface=self.addresses.device)

    def _announce_if_held(self, address: str) -> None:
        if address in self.owned:
            self._announce(address)

    def _announce(self, address: str) -> None:
        assert self.addresses is not None
        try:
            garp.announce(self.addresses.device, address)
        except OSError as error:
            log.warning("loadbalancer.arp_failed", address=address, error=str(error))

    async def stop(self) -> None:
        if self.addresses is not None:
            await self.addresses.sync(set())
