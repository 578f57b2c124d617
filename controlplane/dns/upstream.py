"""Forwarding what is not a cluster name to the node's upstream resolvers, with a deadline.

The upstreams are the `nameserver` lines of the node's resolver file (or `--upstream`), less this
instance itself (asking ourselves would loop). A query goes to each in turn, over the transport it
came on, until one answers; a refused port or an unreachable network fails that attempt at once, a
silent server after the timeout. None answering (or none configured, as in the one-machine lab)
means SERVFAIL for the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger("dns.upstream")


@dataclass(frozen=True, slots=True)
class Upstream:
    host: str
    port: int = 53

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_upstream(text: str) -> Upstream:
    """`1.1.1.1`, `127.0.0.1:5353` or `[fd00::1]:53`; ValueError naming what is wrong."""
    text = text.strip()
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = int(rest.removeprefix(":"))
    elif text.count(":") == 1:
        host, _, number = text.partition(":")
        port = int(number)
    ipaddress.ip_address(host)
    if not 0 < port < 65536:
        raise ValueError(f"port {port} out of range")
    return Upstream(host, port)


def nameservers(resolv_conf: str) -> list[Upstream]:
    """The `nameserver` lines of a resolver file, in order (unparseable ones skipped)."""
    found = []
    for line in resolv_conf.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            with contextlib.suppress(ValueError):
                found.append(Upstream(str(ipaddress.ip_address(fields[1].split("%")[0]))))
    return found


def read_nameservers(path: Path | None) -> list[Upstream]:
    if path is None:
        return []
    try:
        return nameservers(path.read_text())
    except OSError as error:
        log.warning("upstream.no_resolv_conf", path=str(path), error=error.strerror)
        return []


class _Datagram(asyncio.DatagramProtocol):
    def __init__(self, query_id: bytes) -> None:
        self.query_id = query_id
        self.reply: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        if data[:2] == self.query_id and not self.reply.done():
            self.reply.set_result(data)

    def error_received(self, exc: Exception) -> None:  # ICMP port unreachable and friends
        if not self.reply.done():
            self.reply.set_exception(exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.reply.done():
            self.reply.set_exception(exc or ConnectionError("socket closed"))


class Forwarder:
    def __init__(self, upstreams: Iterable[Upstream], timeout: float, own: Iterable[Upstream] = ()) -> None:
        mine = set(own)
        self.upstreams = [upstream for upstream in upstreams if upstream not in mine]
        self.timeout = timeout

    async def query(self, data: bytes, tcp: bool = False) -> bytes | None:
        """The first upstream answer to the query `data`, or None when none came."""
        for upstream in self.upstreams:
            try:
                async with asyncio.timeout(self.timeout):
                    return await (self._tcp(upstream, data) if tcp else self._udp(upstream, data))
            except (OSError, TimeoutError, EOFError, asyncio.IncompleteReadError) as error:
                log.debug("upstream.failed", upstream=str(upstream), error=str(error) or type(error).__name__)
        return None

    async def _udp(self, upstream: Upstream, data: bytes) -> bytes:
        loop = asyncio.get_running_loop()
        transport, protocol = await loop.create_datagram_endpoint(
            lambda: _Datagram(data[:2]), remote_addr=(upstream.host, upstream.port))
        try:
            transport.sendto(data)
            return await protocol.reply
        finally:
            transport.close()

    async def _tcp(self, upstream: Upstream, data: bytes) -> bytes:
        reader, writer = await asyncio.open_connection(upstream.host, upstream.port)
        try:
            writer.write(len(data).to_bytes(2, "big") + data)
            await writer.drain()
            size = int.from_bytes(await reader.readexactly(2), "big")
            return await reader.readexactly(size)
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
