"""TCP in the userspace proxy: accept on a frontend, connect to an endpoint, relay both ways.

- The endpoint is chosen per connection (`Choose`, see backend.py): the endpoints in the order to
  try; one that refuses or does not answer within the connect timeout is skipped for the next. When
  none answers, the client gets a reset.
- Back-pressure: each side's transport holds at most HIGH_WATER bytes it could not send yet; past
  that, reading from the other side pauses until the buffer drains below LOW_WATER. A transfer of
  any size streams through with bounded memory.
- Half-close: an EOF from one side becomes a FIN towards the other (`write_eof`, after what is
  still buffered), and the other direction keeps flowing until it ends too. A reset on one side
  resets the other.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass
from typing import cast

import structlog

from proxy.model import Endpoint
from proxy.userspace.frontends import Frontend
from proxy.userspace.sockets import LISTEN_BACKLOG, listening_socket, outgoing_socket

log = structlog.get_logger("proxy.tcp")

HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024


@dataclass(frozen=True, slots=True)
class Dial:
    """How to serve one new connection."""

    endpoints: list[Endpoint]  # in the order to try
    connected: Callable[[Endpoint], None]  # called with the endpoint that answered
    source: str | None = None  # connect from this (the client's) address, else from the node's


# client address -> how to serve it, or None to refuse
Choose = Callable[[str], Dial | None]


class _Side(asyncio.Protocol):
    """One of the two connections of a relay; `peer` is the other."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: _Side | None = None
        self.eof = False
        self.early: list[bytes] = []  # read before the peer existed (at most a chunk: reading is paused)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(high=HIGH_WATER, low=LOW_WATER)

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is None or peer.transport is None:
            self.early.append(data)
            return
        peer.transport.write(data)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer
        if peer is not None and peer.transport is not None:
            self._pass_eof(peer.transport)
        return True  # keep our own writing side open: the other direction may still flow

    def _pass_eof(self, peer_transport: asyncio.Transport) -> None:
        if peer_transport.is_closing():
            return
        peer_transport.write_eof()
        if self.peer is not None and self.peer.eof:
            peer_transport.close()
            if self.transport is not None:
                self.transport.close()

    def pause_writing(self) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None and not peer.eof:
            peer.transport.pause_reading()

    def resume_writing(self) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None and not peer.eof and not peer.transport.is_closing():
            peer.transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None and not peer.transport.is_closing():
            if exc is None:
                peer.transport.close()
            else:
                reset(peer.transport)


def reset(transport: asyncio.Transport) -> None:
    """Close with a TCP reset (a plain close sends a FIN, which reads as an orderly end)."""
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


def link(client: _Side, back: _Side) -> None:
    """Join two connected sides and start relaying (what the client sent early goes first)."""
    assert client.transport is not None and back.transport is not None
    client.peer, back.peer = back, client
    for data in client.early:
        back.transport.write(data)
    client.early.clear()
    if client.eof:
        client._pass_eof(back.transport)
    elif not client.transport.is_closing():
        client.transport.resume_reading()


class _Accepted(_Side):
    def __init__(self, listener: TcpListener) -> None:
        super().__init__()
        self.listener = listener
        self.dialing: asyncio.Task[None] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        assert self.transport is not None
        self.transport.pause_reading()
        self.dialing = self.listener.dial(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.dialing is not None and not self.dialing.done():
            self.dialing.cancel()
        super().connection_lost(exc)


class TcpListener:
    """One TCP frontend. Closing it stops accepting; relays already running go on (as connections
    tracked by the kernel would)."""

    def __init__(self, frontend: Frontend, choose: Choose, connect_timeout: float) -> None:
        self.frontend = frontend
        self.choose = choose
        self.connect_timeout = connect_timeout
        self._server: asyncio.Server | None = None
        self._dialing: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        sock = listening_socket(self.frontend.ip, self.frontend.port, "TCP")
        try:
            self._server = await loop.create_server(lambda: _Accepted(self), sock=sock, backlog=LISTEN_BACKLOG)
        except BaseException:
            sock.close()
            raise

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens (the port is the kernel's choice when the frontend's is 0)."""
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return str(host), int(port)

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        for task in list(self._dialing):
            task.cancel()
        if self._dialing:
            await asyncio.gather(*self._dialing, return_exceptions=True)

    def dial(self, client: _Accepted) -> asyncio.Task[None]:
        """Connect the accepted client to an endpoint; the task is the listener's, cancelled with it."""
        task = asyncio.get_running_loop().create_task(self._dial(client))
        self._dialing.add(task)
        task.add_done_callback(self._dialing.discard)
        return task

    async def _dial(self, client: _Accepted) -> None:
        assert client.transport is not None
        peer = client.transport.get_extra_info("peername")
        client_ip = peer[0] if peer else ""
        plan = self.choose(client_ip)
        if plan is None:
            reset(client.transport)
            return
        loop = asyncio.get_running_loop()
        for endpoint in plan.endpoints:
            sock = outgoing_socket("TCP", plan.source)
            try:
                async with asyncio.timeout(self.connect_timeout):
                    await loop.sock_connect(sock, (endpoint.ip, endpoint.port))
            except (OSError, TimeoutError) as error:
                sock.close()
                log.debug("endpoint.skipped", frontend=f"{self.frontend.ip}:{self.frontend.port}",
                          endpoint=str(endpoint), error=str(error) or type(error).__name__)
                continue
            except BaseException:
                sock.close()
                raise
            if client.transport.is_closing():
                sock.close()
                return
            plan.connected(endpoint)
            try:
                _, back = await loop.create_connection(_Side, sock=sock)
            except OSError:
                sock.close()
                reset(client.transport)
                return
            link(client, back)
            return
        log.info("connection.refused", frontend=f"{self.frontend.ip}:{self.frontend.port}", client=client_ip,
                 reason="no endpoint answered", tried=len(plan.endpoints))
        reset(client.transport)

