"""The gossip cluster's sockets: UDP for probes and gossip, TCP for push-pull and large messages,
both on one port (7946), every packet and frame sealed by the keyring.

UDP is read without asyncio's datagram protocol: the socket is drained (non-blocking reads until
it is empty) right before the state machine looks at its timers, so an ack that arrived while the
event loop was busy is always seen before the probe it answers times out. (uvloop runs due timers
before it polls for I/O: a busy loop would otherwise turn every late wake-up into a failed probe.)

A TCP connection carries one frame each way: a u32 length and a sealed payload. A push-pull is
answered with our own state; any other payload is taken as a packet that was too large for UDP.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import socket
import struct
from collections import Counter
from collections.abc import Awaitable, Callable

import structlog

from agent.gossip import messages as wire
from agent.gossip.keyring import Keyring, SealError

log = structlog.get_logger("gossip.transport")

Address = tuple[str, int]
_FRAME = struct.Struct(">I")
MAX_FRAME = 4 * 1024 * 1024
MAX_DATAGRAM = 65507
# Received datagrams kept between two drains at most (a flood is dropped, not buffered without end).
MAX_BUFFERED = 4096


class TransportError(OSError):
    """The sockets cannot be opened (address in use, not local): one line, says which."""


class Transport:
    def __init__(self, bind: Address, keyring: Keyring, stats: Counter[str], *, udp_limit: int,
                 tcp_timeout: float) -> None:
        self.bind = bind
        self.keyring = keyring
        self.stats = stats
        self.udp_limit = udp_limit
        self.tcp_timeout = tcp_timeout
        self._udp: socket.socket | None = None
        self._server: asyncio.Server | None = None
        self._inbox: list[tuple[bytes, Address]] = []
        self.readable = asyncio.Event()

    @property
    def port(self) -> int:
        """The bound port (the one asked for, or the one the system chose for port 0)."""
        assert self._udp is not None
        port: int = self._udp.getsockname()[1]
        return port

    async def open(self, on_stream: Callable[[bytes, Address], Awaitable[bytes | None]]) -> None:
        """Bind UDP and TCP on the same port. `on_stream(plaintext, peer)` handles a TCP frame and
        returns the plaintext to answer with (or None)."""
        host, port = self.bind
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        udp = socket.socket(family, socket.SOCK_DGRAM)
        try:
            udp.setblocking(False)
            udp.bind((host, port))
        except OSError as error:
            udp.close()
            raise TransportError(f"cannot bind UDP {host}:{port}: {error.strerror}") from None
        self._udp = udp
        port = self.port  # port 0: TCP takes the port UDP was given
        try:
            self._server = await asyncio.start_server(
                lambda r, w: self._serve(r, w, on_stream), host, port, family=family, reuse_address=True)
        except OSError as error:
            self.close()
            raise TransportError(f"cannot bind TCP {host}:{port}: {error.strerror}") from None
        asyncio.get_running_loop().add_reader(udp.fileno(), self._on_readable)

    def close(self) -> None:
        if self._udp is not None:
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().remove_reader(self._udp.fileno())
            self._udp.close()
            self._udp = None
        if self._server is not None:
            self._server.close()
            self._server = None

    async def wait_closed(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    # ------------------------------------------------------------------ UDP

    def _on_readable(self) -> None:
        self._read_socket()
        self.readable.set()

    def _read_socket(self) -> None:
        udp = self._udp
        while udp is not None:
            try:
                data, sender = udp.recvfrom(MAX_DATAGRAM)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as error:  # an ICMP error reported on the socket: nothing to read
                self.stats["udp_errors"] += 1
                log.debug("gossip.udp_error", error=error.strerror)
                continue
            self.stats["bytes_received"] += len(data)
            try:
                plaintext = self.keyring.open(data)
            except SealError as error:
                self._refused(error, sender)
                continue
            if len(self._inbox) >= MAX_BUFFERED:
                self.stats["dropped_overflow"] += 1
                continue
            self._inbox.append((plaintext, (sender[0], sender[1])))

    def drain(self) -> list[tuple[bytes, Address]]:
        """Every datagram received so far, opened: (plaintext, sender)."""
        self._read_socket()
        self.readable.clear()
        inbox, self._inbox = self._inbox, []
        return inbox

    def send(self, address: Address, payload: bytes) -> bytes | None:
        """Seal and send by UDP. A payload too large for one datagram is not sent: its sealed bytes
        are returned, for the caller to send with `send_stream` over TCP."""
        sealed = self.keyring.seal(payload)
        if len(sealed) > self.udp_limit:
            self.stats["large_messages_sent"] += 1
            return sealed
        if self._udp is None:
            return None
        try:
            self._udp.sendto(sealed, address)
        except OSError as error:
            # Unreachable networks, a full buffer: the packet is lost, as UDP packets are.
            self.stats["send_errors"] += 1
            if error.errno not in (errno.EAGAIN, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ECONNREFUSED):
                log.warning("gossip.send_failed", address=f"{address[0]}:{address[1]}", error=error.strerror)
            return None
        self.stats["bytes_sent"] += len(sealed)
        return None

    def _refused(self, error: SealError, sender: tuple[str, int] | Address) -> None:
        self.stats[f"dropped_{error.reason}"] += 1
        log.debug("gossip.packet_refused", sender=f"{sender[0]}:{sender[1]}", reason=str(error))

    # ------------------------------------------------------------------ TCP

    async def exchange(self, address: Address, payload: bytes) -> bytes:
        """Send one frame and read the answer frame (a push-pull); OSError, TimeoutError, SealError."""
        async with asyncio.timeout(self.tcp_timeout):
            reader, writer = await asyncio.open_connection(*address)
            try:
                await _write_frame(writer, self.keyring.seal(payload))
                answer = await _read_frame(reader)
            finally:
                await _close(writer)
        return self.keyring.open(answer)

    async def send_stream(self, address: Address, sealed: bytes) -> None:
        """Send one sealed frame over TCP (a message too large for UDP); failures are counted."""
        try:
            async with asyncio.timeout(self.tcp_timeout):
                _, writer = await asyncio.open_connection(*address)
                try:
                    await _write_frame(writer, sealed)
                finally:
                    await _close(writer)
        except (OSError, TimeoutError) as error:
            self.stats["send_errors"] += 1
            log.debug("gossip.stream_send_failed", address=f"{address[0]}:{address[1]}", error=str(error))

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     on_stream: Callable[[bytes, Address], Awaitable[bytes | None]]) -> None:
        peer = writer.get_extra_info("peername") or ("?", 0)
        try:
            async with asyncio.timeout(self.tcp_timeout):
                data = await _read_frame(reader)
                try:
                    plaintext = self.keyring.open(data)
                except SealError as error:
                    self._refused(error, peer)
                    return
                answer = await on_stream(plaintext, (peer[0], peer[1]))
                if answer is not None:
                    await _write_frame(writer, self.keyring.seal(answer))
        except (OSError, TimeoutError, asyncio.IncompleteReadError, wire.MessageError) as error:
            self.stats["stream_errors"] += 1
            log.debug("gossip.stream_failed", peer=f"{peer[0]}:{peer[1]}", error=str(error) or type(error).__name__)
        finally:
            await _close(writer)


async def _close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def _write_frame(writer: asyncio.StreamWriter, data: bytes) -> None:
    writer.write(_FRAME.pack(len(data)) + data)
    await writer.drain()


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    (size,) = _FRAME.unpack(await reader.readexactly(_FRAME.size))
    if size > MAX_FRAME:
        raise wire.MessageError(f"a frame of {size} bytes is larger than {MAX_FRAME}")
    return await reader.readexactly(size)
