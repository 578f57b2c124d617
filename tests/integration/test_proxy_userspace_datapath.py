"""The userspace proxy's data path with real sockets on loopback: TCP half-close and back-pressure,
refusing endpoints skipped, ClientIP affinity, UDP flows and their idle timeout."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from proxy.balancer import Balancer
from proxy.model import Endpoint
from proxy.userspace.frontends import Frontend
from proxy.userspace.tcp import Dial, TcpListener
from proxy.userspace.udp import UdpListener
from tests.support.wait import eventually

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def backend(handler: Handler) -> tuple[asyncio.Server, Endpoint]:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, Endpoint("127.0.0.1", server.sockets[0].getsockname()[1])


def refusing_endpoint() -> Endpoint:
    """A loopback port nobody listens on (bound and closed: connecting gets a reset)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return Endpoint("127.0.0.1", sock.getsockname()[1])


def balanced(endpoints: list[Endpoint], balancer: Balancer | None = None) -> Callable[[str], Dial | None]:
    chosen = balancer if balancer is not None else Balancer()

    def choose(client_ip: str) -> Dial | None:
        order = chosen.candidates(endpoints, client_ip, time.monotonic())
        return Dial(order, lambda e: chosen.connected(e, client_ip, time.monotonic())) if order else None

    return choose


async def proxy_for(choose: Callable[[str], Dial | None]) -> TcpListener:
    listener = TcpListener(Frontend("127.0.0.1", 0, "TCP"), choose, connect_timeout=1.0)
    await listener.start()
    return listener


@pytest.fixture
async def servers() -> AsyncIterator[list[asyncio.Server]]:
    started: list[asyncio.Server] = []
    yield started
    for server in started:
        server.close()


async def named(servers: list[asyncio.Server], name: str) -> Endpoint:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(name.encode())
        await writer.drain()
        writer.close()

    server, endpoint = await backend(answer)
    servers.append(server)
    return endpoint


async def ask(address: tuple[str, int]) -> bytes:
    reader, writer = await asyncio.open_connection(*address)
    try:
        return await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()


# ---------------------------------------------------------------------------------------- TCP


async def test_a_client_half_close_reaches_the_endpoint_and_its_answer_still_comes_back(
        servers: list[asyncio.Server]) -> None:
    async def count_then_answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        data = await reader.read()  # until the client's FIN
        writer.write(f"got {len(data)}".encode())
        await writer.drain()
        writer.close()

    server, endpoint = await backend(count_then_answer)
    servers.append(server)
    listener = await proxy_for(balanced([endpoint]))
    try:
        reader, writer = await asyncio.open_connection(*listener.address)
        writer.write(b"x" * 100_000)
        writer.write_eof()
        assert await asyncio.wait_for(reader.read(), 5) == b"got 100000"
        writer.close()
    finally:
        await listener.close()


async def test_an_endpoint_half_close_reaches_the_client_which_can_still_send(servers: list[asyncio.Server]) -> None:
    async def greet_then_listen(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"hello")
        writer.write_eof()  # the endpoint is done talking, not listening
        servers_seen.append(await reader.read())
        writer.close()

    async def seen() -> list[bytes]:
        return servers_seen

    servers_seen: list[bytes] = []
    server, endpoint = await backend(greet_then_listen)
    servers.append(server)
    listener = await proxy_for(balanced([endpoint]))
    try:
        reader, writer = await asyncio.open_connection(*listener.address)
        assert await asyncio.wait_for(reader.read(), 5) == b"hello"  # then EOF
        writer.write(b"still here")
        writer.write_eof()
        await eventually(seen, timeout=5, what="the endpoint to read the client's bytes")
        assert servers_seen == [b"still here"]
        writer.close()
    finally:
        await listener.close()


async def test_a_large_download_is_neither_truncated_nor_buffered_whole_when_the_client_stalls(
        servers: list[asyncio.Server]) -> None:
    total = 64 << 20
    chunk = os.urandom(1 << 20)
    sent = [0]
    digest = hashlib.sha256()
    for _ in range(total // len(chunk)):
        digest.update(chunk)

    async def stream(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(total // len(chunk)):
            writer.write(chunk)
            await writer.drain()
            sent[0] += len(chunk)
        writer.close()

    server, endpoint = await backend(stream)
    servers.append(server)
    listener = await proxy_for(balanced([endpoint]))
    try:
        reader, writer = await asyncio.open_connection(*listener.address, limit=1 << 16)
        await asyncio.sleep(0.6)  # the client reads nothing: the endpoint must be held back
        stalled = sent[0]
        await asyncio.sleep(0.3)
        assert sent[0] == stalled, "the endpoint kept sending while nobody read"
        assert stalled < 40 << 20, f"{stalled >> 20} MiB went out before the stalled client read anything"
        received = hashlib.sha256()
        length = 0
        while data := await asyncio.wait_for(reader.read(1 << 20), 10):
            received.update(data)
            length += len(data)
        assert length == total and received.digest() == digest.digest()
        writer.close()
    finally:
        await listener.close()


async def test_a_large_upload_to_a_slow_endpoint_streams_through_completely(servers: list[asyncio.Server]) -> None:
    total = 48 << 20
    data = os.urandom(total)
    received: list[bytes] = []

    async def slow_sink(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        digest, length = hashlib.sha256(), 0
        await asyncio.sleep(0.5)
        while piece := await reader.read(1 << 20):
            digest.update(piece)
            length += len(piece)
        writer.write(f"{length} {digest.hexdigest()}".encode())
        await writer.drain()
        writer.close()
        received.append(b"done")

    server, endpoint = await backend(slow_sink)
    servers.append(server)
    listener = await proxy_for(balanced([endpoint]))
    try:
        reader, writer = await asyncio.open_connection(*listener.address)
        writer.write(data)
        await writer.drain()
        writer.write_eof()
        answer = await asyncio.wait_for(reader.read(), 20)
        assert answer == f"{total} {hashlib.sha256(data).hexdigest()}".encode()
        writer.close()
    finally:
        await listener.close()


async def test_an_endpoint_that_refuses_is_skipped_for_the_next(servers: list[asyncio.Server]) -> None:
    live = await named(servers, "live")
    listener = await proxy_for(balanced([refusing_endpoint(), live]))
    try:
        answers = [await ask(listener.address) for _ in range(6)]
        assert answers == [b"live"] * 6
    finally:
        await listener.close()


async def test_when_every_endpoint_refuses_the_client_is_reset() -> None:
    listener = await proxy_for(balanced([refusing_endpoint(), refusing_endpoint()]))
    try:
        reader, writer = await asyncio.open_connection(*listener.address)
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(reader.read(), 5)
        writer.close()
    finally:
        await listener.close()


async def test_round_robin_spreads_connections_over_every_endpoint(servers: list[asyncio.Server]) -> None:
    endpoints = [await named(servers, name) for name in ("a", "b", "c")]
    listener = await proxy_for(balanced(endpoints))
    try:
        answers = [await ask(listener.address) for _ in range(6)]
        assert answers == [b"a", b"b", b"c", b"a", b"b", b"c"]
    finally:
        await listener.close()


async def test_client_ip_affinity_sends_one_client_to_one_endpoint(servers: list[asyncio.Server]) -> None:
    endpoints = [await named(servers, name) for name in ("a", "b", "c")]
    listener = await proxy_for(balanced(endpoints, Balancer(affinity_seconds=60)))
    try:
        answers = {await ask(listener.address) for _ in range(6)}
        assert len(answers) == 1
    finally:
        await listener.close()


# ---------------------------------------------------------------------------------------- UDP


class Echo(asyncio.DatagramProtocol):
    def __init__(self, name: bytes) -> None:
        self.name = name
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:  # type: ignore[override]
        assert self.transport is not None
        self.transport.sendto(self.name + b":" + data, addr)


@pytest.fixture
async def udp_echoes() -> AsyncIterator[list[Endpoint]]:
    loop = asyncio.get_running_loop()
    transports = []
    endpoints = []
    for name in (b"a", b"b"):
        transport, _ = await loop.create_datagram_endpoint(lambda n=name: Echo(n), local_addr=("127.0.0.1", 0))
        transports.append(transport)
        endpoints.append(Endpoint("127.0.0.1", transport.get_extra_info("sockname")[1]))
    yield endpoints
    for transport in transports:
        transport.close()


def udp_client() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    return sock


async def exchange(sock: socket.socket, address: tuple[str, int], data: bytes, timeout: float = 2) -> bytes:
    loop = asyncio.get_running_loop()
    await loop.sock_sendto(sock, data, address)
    return await asyncio.wait_for(loop.sock_recv(sock, 65535), timeout)


async def test_udp_datagrams_of_one_client_stay_on_one_flow_and_replies_come_from_the_frontend(
        udp_echoes: list[Endpoint]) -> None:
    listener = UdpListener(Frontend("127.0.0.1", 0, "UDP"), balanced(udp_echoes), idle_timeout=30)
    await listener.start()
    first, second = udp_client(), udp_client()
    try:
        answers = [await exchange(first, listener.address, b"ping%d" % i) for i in range(3)]
        assert answers in ([b"a:ping0", b"a:ping1", b"a:ping2"], [b"b:ping0", b"b:ping1", b"b:ping2"])
        other = await exchange(second, listener.address, b"hi")
        assert other[:1] != answers[0][:1]  # the next client goes to the next endpoint
        big = os.urandom(60000)
        assert (await exchange(first, listener.address, big))[2:] == big
        assert len(listener.flows) == 2
    finally:
        first.close()
        second.close()
        await listener.close()


async def test_an_idle_udp_flow_ends_after_its_timeout(udp_echoes: list[Endpoint]) -> None:
    listener = UdpListener(Frontend("127.0.0.1", 0, "UDP"), balanced(udp_echoes), idle_timeout=0.3)
    await listener.start()
    client = udp_client()
    try:
        await exchange(client, listener.address, b"ping")
        assert len(listener.flows) == 1
        async def ended() -> bool:
            return not listener.flows

        await eventually(ended, timeout=5, what="the idle flow to end")
    finally:
        client.close()
        await listener.close()


async def test_a_refusing_udp_endpoint_ends_its_flow_and_the_next_datagram_goes_elsewhere(
        udp_echoes: list[Endpoint]) -> None:
    dead = refusing_endpoint()
    listener = UdpListener(Frontend("127.0.0.1", 0, "UDP"), balanced([dead, udp_echoes[0]]), idle_timeout=30)
    await listener.start()
    client = udp_client()
    try:
        answer = b""
        for attempt in range(5):
            try:
                answer = await exchange(client, listener.address, b"try%d" % attempt, timeout=0.5)
                break
            except TimeoutError:
                continue
        assert answer.startswith(b"a:try")
    finally:
        client.close()
        await listener.close()


async def test_flows_to_an_endpoint_that_left_are_ended(udp_echoes: list[Endpoint]) -> None:
    listener = UdpListener(Frontend("127.0.0.1", 0, "UDP"), balanced(udp_echoes[:1]), idle_timeout=30)
    await listener.start()
    client = udp_client()
    try:
        await exchange(client, listener.address, b"ping")
        listener.retire([udp_echoes[1]])
        assert listener.flows == {}
    finally:
        client.close()
        await listener.close()
