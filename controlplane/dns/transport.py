"""DNS over UDP and TCP on one address and port: every query answered in a task of the server's own
TaskGroup (UDP), or in order on its connection (TCP, length-prefixed, closed when idle)."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import cast

import structlog

log = structlog.get_logger("dns.transport")

Handler = Callable[[bytes, bool], Awaitable[bytes | None]]  # (query, over TCP) -> reply
TCP_IDLE = 10.0  # seconds a TCP connection may wait for its next query (CoreDNS's default)
_BIND_ATTEMPTS = 20


class _UdpServer(asyncio.DatagramProtocol):
    def __init__(self, handler: Handler, group: asyncio.TaskGroup) -> None:
        self.handler = handler
        self.group = group
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)  # uvloop's is not a subclass

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.group.create_task(self._answer(data, addr))

    async def _answer(self, data: bytes, addr: tuple[str, int]) -> None:
        try:
            reply = await self.handler(data, False)
        except Exception:
            log.exception("dns.query_failed", transport="udp", client=addr[0])
            return
        if reply is not None and self.transport is not None and not self.transport.is_closing():
            self.transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        log.debug("dns.udp_error", error=str(exc))


async def _tcp_connection(handler: Handler, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            async with asyncio.timeout(TCP_IDLE):
                size = int.from_bytes(await reader.readexactly(2), "big")
                data = await reader.readexactly(size)
            reply = await handler(data, True)
            if reply is None:
                break
            writer.write(len(reply).to_bytes(2, "big") + reply)
            await writer.drain()
    except (asyncio.IncompleteReadError, TimeoutError, ConnectionError):
        pass
    except Exception:
        log.exception("dns.query_failed", transport="tcp")
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


@dataclass
class Listeners:
    udp: asyncio.DatagramTransport
    tcp: asyncio.Server
    port: int

    async def close(self) -> None:
        self.udp.close()
        self.tcp.close()
        await self.tcp.wait_closed()


def _udp_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


async def listen(host: str, port: int, handler: Handler, group: asyncio.TaskGroup) -> Listeners:
    """Serve on host:port over UDP and TCP; port 0 picks a port free for both."""
    loop = asyncio.get_running_loop()
    for _ in range(_BIND_ATTEMPTS):
        sock = _udp_socket(host, port)
        chosen = sock.getsockname()[1]
        try:
            tcp = await asyncio.start_server(lambda r, w: _tcp_connection(handler, r, w), host, chosen,
                                             reuse_address=True)
        except OSError as error:
            sock.close()
            if port == 0 and error.errno == errno.EADDRINUSE:
                continue  # the UDP port's TCP twin is taken: try another
            raise
        udp, _ = await loop.create_datagram_endpoint(lambda: _UdpServer(handler, group), sock=sock)
        return Listeners(udp, tcp, chosen)
    raise OSError(errno.EADDRINUSE, f"no port free for both UDP and TCP on {host}")
