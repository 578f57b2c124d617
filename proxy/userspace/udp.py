"""UDP in the userspace proxy: one flow per client address, each a connected socket to the endpoint
chosen for that client; replies go back from the frontend's own address and port.

A flow ends after `idle_timeout` seconds without a datagram either way, when its endpoint refuses
(an ICMP port unreachable; the client's next datagram opens a flow to the next endpoint), or when
its endpoint is no longer one (`retire`). Nothing queues without bound: a datagram that finds a
socket buffer full is dropped, as the network would.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable
from typing import cast

import structlog

from proxy.model import Endpoint
from proxy.userspace.frontends import Frontend
from proxy.userspace.sockets import listening_socket, outgoing_socket
from proxy.userspace.tcp import Choose

log = structlog.get_logger("proxy.udp")

MAX_DATAGRAM = 65535
# Replies waiting to be sent to clients, per frontend; beyond this they are dropped.
REPLY_BUFFER_LIMIT = 1 << 20


class _Flow:
    def __init__(self, listener: UdpListener, client: tuple[str, int], endpoint: Endpoint,
                 sock: socket.socket) -> None:
        self.listener = listener
        self.client = client
        self.endpoint = endpoint
        self.sock = sock
        self.last_active = asyncio.get_running_loop().time()
        asyncio.get_running_loop().add_reader(sock.fileno(), self._readable)

    def send(self, data: bytes) -> None:
        self.last_active = asyncio.get_running_loop().time()
        try:
            self.sock.send(data)
        except BlockingIOError:
            pass  # the socket buffer is full: the datagram is lost, as on a congested link
        except OSError as error:  # refused (an earlier ICMP port unreachable) or unreachable
            self.listener.end(self, str(error))

    def _readable(self) -> None:
        while True:
            try:
                data = self.sock.recv(MAX_DATAGRAM)
            except BlockingIOError:
                return
            except OSError as error:
                self.listener.end(self, str(error))
                return
            self.last_active = asyncio.get_running_loop().time()
            self.listener.reply(data, self.client)

    def close(self) -> None:
        loop = asyncio.get_running_loop()
        loop.remove_reader(self.sock.fileno())
        self.sock.close()


class UdpListener(asyncio.DatagramProtocol):
    def __init__(self, frontend: Frontend, choose: Choose, idle_timeout: float) -> None:
        self.frontend = frontend
        self.choose = choose
        self.idle_timeout = idle_timeout
        self.flows: dict[tuple[str, int], _Flow] = {}
        self._transport: asyncio.DatagramTransport | None = None
        self._sweeper: asyncio.TimerHandle | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        sock = listening_socket(self.frontend.ip, self.frontend.port, "UDP")
        try:
            await loop.create_datagram_endpoint(lambda: self, sock=sock)
        except BaseException:
            sock.close()
            raise
        self._schedule_sweep()

    @property
    def address(self) -> tuple[str, int]:
        """Where it listens (the port is the kernel's choice when the frontend's is 0)."""
        assert self._transport is not None
        host, port = self._transport.get_extra_info("sockname")[:2]
        return str(host), int(port)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.DatagramTransport, transport)  # uvloop's does not subclass it

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        for flow in list(self.flows.values()):
            flow.close()
        self.flows.clear()
        if self._transport is not None:
            self._transport.close()
            self._transport = None

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        flow = self.flows.get(addr)
        if flow is None:
            flow = self._open(addr)
            if flow is None:
                return
        flow.send(data)

    def error_received(self, exc: Exception) -> None:
        log.debug("udp.error", frontend=f"{self.frontend.ip}:{self.frontend.port}", error=str(exc))

    def _open(self, client: tuple[str, int]) -> _Flow | None:
        plan = self.choose(client[0])
        if plan is None:
            return None
        for endpoint in plan.endpoints:
            sock = outgoing_socket("UDP", plan.source)
            try:
                sock.connect((endpoint.ip, endpoint.port))
            except OSError as error:
                sock.close()
                log.debug("endpoint.skipped", frontend=f"{self.frontend.ip}:{self.frontend.port}",
                          endpoint=str(endpoint), error=str(error))
                continue
            plan.connected(endpoint)
            flow = self.flows[client] = _Flow(self, client, endpoint, sock)
            return flow
        return None

    def reply(self, data: bytes, client: tuple[str, int]) -> None:
        transport = self._transport
        if transport is None or transport.get_write_buffer_size() > REPLY_BUFFER_LIMIT:  # type: ignore[attr-defined]
            return
        transport.sendto(data, client)

    def end(self, flow: _Flow, reason: str) -> None:
        if self.flows.get(flow.client) is flow:
            del self.flows[flow.client]
        flow.close()
        log.debug("udp.flow_ended", frontend=f"{self.frontend.ip}:{self.frontend.port}",
                  client=f"{flow.client[0]}:{flow.client[1]}", endpoint=str(flow.endpoint), reason=reason)

    def retire(self, endpoints: Iterable[Endpoint]) -> None:
        """End the flows whose endpoint is not among `endpoints` any more."""
        keep = set(endpoints)
        for flow in list(self.flows.values()):
            if flow.endpoint not in keep:
                self.end(flow, "endpoint removed")

    def _schedule_sweep(self) -> None:
        loop = asyncio.get_running_loop()
        self._sweeper = loop.call_later(max(self.idle_timeout / 2, 0.05), self._sweep)

    def _sweep(self) -> None:
        now = asyncio.get_running_loop().time()
        for flow in list(self.flows.values()):
            if now - flow.last_active > self.idle_timeout:
                self.end(flow, "idle")
        self._schedule_sweep()
