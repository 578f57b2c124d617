"""tinyhttp, the catalog images' HTTP server: parsing, keep-alive, bodies, streaming, errors, shutdown.
Every test talks to a real server on 127.0.0.1 (its threads in this process) with raw bytes over
asyncio streams."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from agent.images import tinyhttp
from tests.support.wait import eventually


class Peer:
    """One raw client connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()

    async def response(self, to_head: bool = False) -> tuple[int, dict[str, str], bytes]:
        """The next response, its body by Content-Length (none for the answer to a HEAD)."""
        async with asyncio.timeout(3):
            head = await self.reader.readuntil(b"\r\n\r\n")
            status_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
            headers = {name.lower(): value for name, _, value in (line.partition(": ") for line in lines)}
            length = 0 if to_head else int(headers.get("content-length", "0"))
            return int(status_line.split()[1]), headers, await self.reader.readexactly(length)

    async def closed(self) -> bool:
        async with asyncio.timeout(3):
            return await self.reader.read() == b""

    def close(self) -> None:
        self.writer.close()


def request(path: str = "/", method: str = "GET", extra: str = "", version: str = "1.1") -> bytes:
    return f"{method} {path} HTTP/{version}\r\nHost: test\r\n{extra}\r\n".encode()


class App:
    def __init__(self) -> None:
        self.seen: list[tinyhttp.Request] = []
        self.logged: list[tuple[str, int, int]] = []
        self.release = threading.Event()
        self.server = tinyhttp.Server(self.handle, access_log=self.log, server_header="test/1")
        self.port = 0

    def handle(self, req: tinyhttp.Request) -> tinyhttp.Response:
        self.seen.append(req)
        if req.path == "/boom":
            raise RuntimeError("boom")
        if req.path == "/slow":
            time.sleep(0.3)
        if req.path == "/stuck":
            self.release.wait()
        if req.path.startswith("/file/"):
            # the server closes it once sent
            file = open(req.path.removeprefix("/file"), "rb")  # noqa: SIM115
            return tinyhttp.Response(headers={"Content-Type": "application/octet-stream"}, stream=file,
                                     stream_length=Path(req.path.removeprefix("/file")).stat().st_size)
        return tinyhttp.text(f"{req.method} {req.path} {req.query}\n")

    def log(self, req: tinyhttp.Request, response: tinyhttp.Response, sent: int) -> None:
        self.logged.append((req.path_qs, response.status, sent))

    async def connect(self) -> Peer:
        return Peer(*await asyncio.open_connection("127.0.0.1", self.port))


@pytest.fixture
async def app() -> AsyncIterator[App]:
    app = App()
    app.server.listen("127.0.0.1", 0)
    app.port = app.server.addresses[0][1]
    try:
        yield app
    finally:
        app.release.set()
        await asyncio.to_thread(app.server.close)


async def test_keep_alive_serves_requests_in_turn_until_connection_close(app: App) -> None:
    peer = await app.connect()
    await peer.send(request("/a%20b?x=1"))
    status, headers, body = await peer.response()
    assert (status, body) == (200, b"GET /a b x=1\n")
    assert headers["content-type"] == "text/plain; charset=utf-8"
    assert headers["server"] == "test/1"
    assert headers["date"].endswith(" GMT")
    assert "connection" not in headers
    await peer.send(request("/second", extra="Connection: close\r\n"))
    status, headers, body = await peer.response()
    assert (status, headers["connection"], body) == (200, "close", b"GET /second \n")
    assert await peer.closed()
    assert app.logged == [("/a%20b?x=1", 200, 13), ("/second", 200, 13)]


async def test_http_1_0_closes_unless_asked_to_keep_alive(app: App) -> None:
    peer = await app.connect()
    await peer.send(request(version="1.0", extra="Connection: keep-alive\r\n"))
    status, headers, _ = await peer.response()
    assert (status, headers["connection"]) == (200, "keep-alive")
    await peer.send(request(version="1.0"))
    status, headers, _ = await peer.response()
    assert (status, headers["connection"]) == (200, "close")
    assert await peer.closed()


async def test_pipelined_requests_are_answered_in_order(app: App) -> None:
    peer = await app.connect()
    await peer.send(request("/slow") + request("/1", method="HEAD") + request("/2"))
    assert (await peer.response())[2] == b"GET /slow \n"
    status, headers, body = await peer.response(to_head=True)  # Content-Length of the GET, no body
    assert (status, headers["content-length"], body) == (200, "9", b"")
    assert (await peer.response())[2] == b"GET /2 \n"
    peer.close()


async def test_a_request_body_is_read_and_dropped(app: App) -> None:
    peer = await app.connect()
    await peer.send(request("/post", method="POST", extra="Content-Length: 5\r\n") + b"hello" + request("/next"))
    assert (await peer.response())[2] == b"POST /post \n"
    assert (await peer.response())[2] == b"GET /next \n"
    await peer.send(request("/te", method="POST", extra="Transfer-Encoding: chunked\r\n") + b"5\r\nhello\r\n0\r\n\r\n")
    _, headers, _ = await peer.response()
    assert headers["connection"] == "close"  # the chunked body is not read: the connection ends
    assert await peer.closed()


async def test_expect_100_continue_is_answered(app: App) -> None:
    peer = await app.connect()
    await peer.send(request("/up", method="PUT", extra="Content-Length: 3\r\nExpect: 100-continue\r\n"))
    async with asyncio.timeout(3):
        assert await peer.reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    await peer.send(b"abc")
    assert (await peer.response())[:1] == (200,)
    peer.close()


@pytest.mark.parametrize(("data", "status"), [
    (b"garbage\r\n\r\n", 400),
    (b"GET /\r\n\r\n", 400),  # HTTP/0.9
    (b"GET / HTTP/1.1 extra\r\n\r\n", 400),
    (b"GET relative HTTP/1.1\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nno colon\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nName : space before the colon\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nX: a\x00b\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: 5x\r\n\r\n", 400),
    (b"GET / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n", 400),
    (b"GET /\xff HTTP/1.1\r\n\r\n", 400),
    (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\n\r\n", 414),
    (b"GET / HTTP/1.1\r\nX: " + b"a" * 9000 + b"\r\n\r\n", 431),
    (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n", 431),
    (b"GET / HTTP/2.0\r\n\r\n", 505),
])
async def test_garbage_is_refused_and_the_connection_closed(app: App, data: bytes, status: int) -> None:
    peer = await app.connect()
    await peer.send(data)
    answer, headers, body = await peer.response()
    assert (answer, headers["connection"]) == (status, "close")
    assert body.startswith(f"{status}: ".encode())
    assert await peer.closed()
    assert app.seen == []


async def test_limits_leave_room_for_ordinary_requests(app: App) -> None:
    peer = await app.connect()
    await peer.send(b"\r\n" + request("/" + "a" * 8000, extra="X: " + "b" * 8000 + "\r\n" + "Y: z\r\n" * 90))
    assert (await peer.response())[0] == 200
    peer.close()


async def test_absolute_and_repeated_headers(app: App) -> None:
    peer = await app.connect()
    await peer.send(b"GET http://example/p%2Fq?k=v HTTP/1.1\r\nAccept: a\r\naccept:  b \r\n\r\n")
    await peer.response()
    (seen,) = app.seen
    assert (seen.raw_path, seen.path, seen.query, seen.version) == ("/p%2Fq", "/p/q", "k=v", "1.1")
    assert seen.headers["accept"] == "a, b"
    assert seen.remote == "127.0.0.1"
    peer.close()


async def test_a_handler_error_is_a_500_and_the_connection_lives_on(app: App,
                                                                     capsys: pytest.CaptureFixture[str]) -> None:
    peer = await app.connect()
    await peer.send(request("/boom") + request("/after"))
    assert (await peer.response())[::2] == (500, b"500: Internal Server Error")
    assert (await peer.response())[2] == b"GET /after \n"
    assert "RuntimeError: boom" in capsys.readouterr().err
    peer.close()


async def test_a_file_streams_in_chunks_and_is_closed(app: App, tmp_path: Path) -> None:
    data = bytes(range(256)) * 1000  # 256 kB: several chunks
    target = tmp_path / "data.bin"
    target.write_bytes(data)
    peer = await app.connect()
    await peer.send(request(f"/file{target}") + request(f"/file{target}", method="HEAD"))
    status, headers, body = await peer.response()
    assert (status, headers["content-length"], body == data) == (200, str(len(data)), True)
    status, headers, body = await peer.response(to_head=True)
    assert (status, headers["content-length"], body) == (200, str(len(data)), b"")
    expected = [(f"/file{target}", 200, len(data)), (f"/file{target}", 200, 0)]

    async def logged() -> bool:  # each once sent: the peer may have read the last before it is logged
        return app.logged[-2:] == expected

    await eventually(logged, timeout=3, what="both answers in the access log")
    peer.close()


async def test_close_ends_idle_connections_at_once_and_lets_a_request_finish() -> None:
    app = App()
    app.server.listen("127.0.0.1", 0)
    app.port = app.server.addresses[0][1]
    idle = await app.connect()
    await idle.send(request())
    await idle.response()
    busy = await app.connect()
    await busy.send(request("/slow"))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await asyncio.to_thread(app.server.close, 2)
    assert time.monotonic() - started < 1
    assert await idle.closed()
    status, headers, _ = await busy.response()
    assert (status, headers["connection"]) == (200, "close")  # finished within the grace, then closed
    assert await busy.closed()
    with pytest.raises(OSError):
        await app.connect()


async def test_close_aborts_a_request_that_outlasts_the_grace() -> None:
    app = App()
    app.server.listen("127.0.0.1", 0)
    app.port = app.server.addresses[0][1]
    stuck = await app.connect()
    await stuck.send(request("/stuck"))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await asyncio.to_thread(app.server.close, 0.2)
    assert time.monotonic() - started < 1.5
    assert await stuck.closed()
    app.release.set()  # the handler's thread ends too


def test_http_dates_round_trip() -> None:
    assert tinyhttp.http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT"
    assert tinyhttp.parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT") == 784111777
    for seconds in (0, 951782400, 1709251199, 4102444800):  # 1970, 2000-02-29, 2024-02-29, 2100
        assert tinyhttp.parse_http_date(tinyhttp.http_date(seconds)) == seconds
    assert tinyhttp.parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT") is None
    assert tinyhttp.parse_http_date("") is None


@pytest.mark.parametrize("value", ["/a%20b", "/p%2Fq", "/%C3%A9t%C3%A9", "/%zz%4", "/100%", "/%C3", "/%C3a%A9",
                                   "/plain", "/%e2%82%ac"])
def test_paths_are_percent_decoded_as_urllib_does(value: str) -> None:
    assert tinyhttp.unquote(value) == unquote(value)


@pytest.mark.parametrize("target", ["http://example/p%2Fq?k=v", "http://example", "https://h:8080?x=1",
                                    "http://h/a?b?c", "HTTP://h/p"])
def test_absolute_targets_split_as_urllib_does(target: str) -> None:
    parts = urlsplit(target)
    assert tinyhttp.split_absolute(target) == (parts.path, parts.query)


def test_a_held_signal_waits_for_wait_signal() -> None:
    old = signal.pthread_sigmask(signal.SIG_BLOCK, [])
    try:
        tinyhttp.hold_signals([signal.SIGUSR1])
        assert tinyhttp.wait_signal([signal.SIGUSR1], 0.01) is None
        signal.raise_signal(signal.SIGUSR1)  # pending, not delivered: no handler runs
        assert tinyhttp.wait_signal([signal.SIGUSR1], 1) == signal.SIGUSR1
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
