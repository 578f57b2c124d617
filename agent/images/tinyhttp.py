"""tinyhttp: a small HTTP/1.1 server on asyncio streams, for the programs of kubelab's image catalog.

The catalog's images (demo_app.py, static_server.py) are workloads inside containers, started by the
hundred, so they should start like a compiled binary: this module uses the standard library only and
costs next to nothing to import (aiohttp cost 0.36 s of CPU and 34 MB per process). The scripts run with
`python -I -S`, outside kubelab's packages, and import it from their own directory (see demo_app.py).

What the server does:
  - request line and headers parsed with bounded sizes: 400 for garbage, 414 for a request line over
    8 KiB, 431 for a header line over 8 KiB or more than 100 headers, 505 for an HTTP major version other than 1
  - keep-alive: HTTP/1.1 keeps the connection unless `Connection: close`; HTTP/1.0 only with
    `Connection: keep-alive`; pipelined requests are answered in order; idle connections close after 75 s
  - a request body of up to 1 MiB announced by Content-Length is read and dropped (`Expect: 100-continue`
    answered); a larger one, or one with Transfer-Encoding, is not read and the connection closes after the answer
  - responses: status, reason, the handler's headers, Date, Server (when set), Content-Length, Connection; the
    body is bytes, or an open file streamed in 64 KiB chunks and closed; HEAD gets the headers only
  - a handler's exception is a 500 (traceback on stderr)
  - listen(): IPv4 and IPv6 as asyncio.start_server does (host None = every address, IPV6_V6ONLY on the
    IPv6 socket), SO_REUSEADDR
  - close(): stops listening, closes idle connections, lets requests in progress finish within a grace, then
    aborts what is left

Routing and methods (405) are the handler's: it gets every well-formed request.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import socket
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

if TYPE_CHECKING:
    from typing import BinaryIO

MAX_LINE = 8190  # request line or one header line, without its CRLF (aiohttp's and nginx's 8 KiB)
MAX_HEADERS = 100
MAX_DROPPED_BODY = 1 << 20  # a larger request body is not read: the connection closes after the answer
CHUNK = 64 * 1024
KEEPALIVE_TIMEOUT = 75.0  # seconds an idle connection (or a request's head in transit) may take

REASONS = {
    100: "Continue", 200: "OK", 204: "No Content", 206: "Partial Content", 301: "Moved Permanently",
    302: "Found", 304: "Not Modified", 400: "Bad Request", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 412: "Precondition Failed", 414: "URI Too Long",
    416: "Range Not Satisfiable", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
    503: "Service Unavailable", 505: "HTTP Version Not Supported",
}

_TOKEN = rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_REQUEST_LINE = re.compile(rb"(" + _TOKEN + rb") ([\x21-\x7e]+) HTTP/([0-9])\.([0-9])\r?\n")
_HEADER_LINE = re.compile(rb"(" + _TOKEN + rb"):[ \t]*([^\x00-\x08\x0a-\x1f\x7f]*?)[ \t]*\r?\n")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(slots=True)
class Request:
    method: str  # as sent: GET, HEAD...
    target: str  # the request target as sent: "/a%20b?x=1"
    version: str  # "1.1", "1.0"
    headers: dict[str, str]  # names lower-cased; a repeated header's values joined with ", "
    remote: str  # the peer's address ("127.0.0.1", "::1"), "" when unknown
    raw_path: str = ""  # the target's path as sent ("/a%20b"); for an absolute-form target, its path
    query: str = ""  # after "?", as sent

    @property
    def path(self) -> str:
        """The percent-decoded path ("/a b")."""
        return unquote(self.raw_path)

    @property
    def path_qs(self) -> str:
        return f"{self.raw_path}?{self.query}" if self.query else self.raw_path


@dataclass(slots=True)
class Response:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)  # Content-Type, Location...: the server adds the rest
    stream: BinaryIO | None = None  # instead of body: `stream_length` bytes read from this open file, then closed
    stream_length: int = 0

    @property
    def content_length(self) -> int:
        return self.stream_length if self.stream is not None else len(self.body)


Handler = Callable[[Request], Awaitable[Response]]
AccessLog = Callable[[Request, Response, int], None]  # request, response, body bytes sent (after sending)


def text(content: str, status: int = 200, *, content_type: str = "text/plain; charset=utf-8",
         headers: dict[str, str] | None = None) -> Response:
    return Response(status=status, body=content.encode(), headers={"Content-Type": content_type, **(headers or {})})


def default_error(status: int) -> Response:
    return text(f"{status}: {REASONS.get(status, 'Error')}", status)


def http_date(seconds: float) -> str:
    """IMF-fixdate, as in Date and Last-Modified ("Sun, 06 Nov 1994 08:49:37 GMT")."""
    t = time.gmtime(seconds)
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


def parse_http_date(value: str) -> int | None:
    """Seconds since the epoch of an IMF-fixdate; None for anything else."""
    parts = value.split()
    if len(parts) != 6 or parts[5] != "GMT" or parts[2] not in _MONTHS:
        return None
    try:
        day, year = int(parts[1]), int(parts[3])
        hour, minute, second = (int(p) for p in parts[4].split(":"))
    except ValueError:
        return None
    month = _MONTHS.index(parts[2]) + 1
    # days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil)
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return days * 86400 + hour * 3600 + minute * 60 + second


class _BadRequest(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


@dataclass(eq=False, slots=True)
class _Connection:
    writer: asyncio.StreamWriter
    task: asyncio.Task[None] | None
    idle: bool = True  # waiting for (the head of) the next request


class Server:
    """Serves `handler` on the addresses given to listen() until close()."""

    def __init__(self, handler: Handler, *, access_log: AccessLog | None = None, server_header: str = "",
                 error_response: Callable[[int], Response] = default_error,
                 keepalive_timeout: float = KEEPALIVE_TIMEOUT) -> None:
        self.handler = handler
        self.access_log = access_log
        self.server_header = server_header
        self.error_response = error_response
        self.keepalive_timeout = keepalive_timeout
        self._servers: list[asyncio.Server] = []
        self._connections: set[_Connection] = set()
        self._closing = False
        self._date = (0, "")

    async def listen(self, host: str | None, port: int) -> None:
        """Listen on `host` (None: every address, IPv4 and IPv6) and `port` (0: any free one, see addresses;
        with host None each family gets its own)."""
        # None is 0.0.0.0 and :: (what getaddrinfo gives for it), spelled out: asyncio resolves numeric hosts
        # itself, but None in a thread pool, which would cost this process a thread
        hosts: str | list[str] = host if host is not None else ["0.0.0.0", "::"] if socket.has_ipv6 else "0.0.0.0"
        server = await asyncio.start_server(self._serve_connection, hosts, port, reuse_address=True,
                                            limit=MAX_LINE + 2)
        self._servers.append(server)

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """(host, port) of every listening socket."""
        return [sock.getsockname()[:2] for server in self._servers for sock in server.sockets]

    async def close(self, grace: float = 1.0) -> None:
        """Stop listening, close idle connections, give requests in progress `grace` seconds, abort the rest."""
        self._closing = True
        for server in self._servers:
            server.close()
        for connection in list(self._connections):
            if connection.idle:
                connection.writer.close()
        tasks = {c.task for c in self._connections if c.task is not None}
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=grace)
            for connection in list(self._connections):
                if connection.task in pending:
                    connection.writer.transport.abort()
            if pending:
                _, pending = await asyncio.wait(pending, timeout=0.5)
                for task in pending:  # a handler that does not return
                    task.cancel()
        for server in self._servers:
            with contextlib.suppress(TimeoutError):  # 3.12+ waits for connections too: they are closed
                async with asyncio.timeout(1):
                    await server.wait_closed()

    # ---- one connection ---------------------------------------------------------------------------------

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = _Connection(writer, asyncio.current_task())
        self._connections.add(connection)
        peer = writer.get_extra_info("peername")
        remote = str(peer[0]) if isinstance(peer, tuple) and peer else ""
        try:
            while not self._closing:
                connection.idle = True
                try:
                    async with asyncio.timeout(self.keepalive_timeout):
                        request = await self._read_request(reader, remote)
                    if request is None:
                        break
                    connection.idle = False
                    keep_alive = await self._read_body(reader, writer, request)
                except _BadRequest as error:
                    await self._send(writer, None, self.error_response(error.status), keep_alive=False)
                    break
                response = await self._respond(request)
                keep_alive = keep_alive and not self._closing
                sent = await self._send(writer, request, response, keep_alive=keep_alive)
                if self.access_log is not None:
                    self.access_log(request, response, sent)
                if not keep_alive:
                    break
        except (OSError, asyncio.IncompleteReadError):  # ConnectionError, TimeoutError, a file that failed to read
            pass  # the peer went away or was too slow, or the answer cannot be finished: the connection ends
        finally:
            self._connections.discard(connection)
            writer.close()

    async def _read_request(self, reader: asyncio.StreamReader, remote: str) -> Request | None:
        """The next request's head; None when the peer closed the connection between requests."""
        line = b""
        for _ in range(8):  # empty lines before a request line are allowed (RFC 9112 2.2)
            line = await _read_line(reader, 414)
            if not line:
                return None
            if line not in (b"\r\n", b"\n"):
                break
        match = _REQUEST_LINE.fullmatch(line)
        if match is None:
            raise _BadRequest(400)
        method, target, major, minor = match.groups()
        if major != b"1":
            raise _BadRequest(505)
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS + 1):
            line = await _read_line(reader, 431)
            if not line:
                raise asyncio.IncompleteReadError(b"", None)
            if line in (b"\r\n", b"\n"):
                break
            header = _HEADER_LINE.fullmatch(line)
            if header is None:
                raise _BadRequest(400)
            name = header.group(1).decode().lower()
            value = header.group(2).decode("latin-1")
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        else:
            raise _BadRequest(431)
        request = Request(method=method.decode(), target=target.decode(), version=f"{major.decode()}.{minor.decode()}",
                          headers=headers, remote=remote)
        target_text = request.target.partition("#")[0]  # a fragment is not the server's (clients do not send one)
        if target_text.startswith("/"):
            request.raw_path, _, request.query = target_text.partition("?")
        elif target_text == "*":  # OPTIONS *
            request.raw_path = "*"
        elif target_text.lower().startswith(("http://", "https://")):  # absolute-form, as to a proxy
            parts = urlsplit(target_text)
            request.raw_path, request.query = parts.path or "/", parts.query
        else:
            raise _BadRequest(400)
        return request

    async def _read_body(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: Request) -> bool:
        """Read and drop the request's body; whether the connection can serve another request after this one."""
        headers = request.headers
        connection = {token.strip().lower() for token in headers.get("connection", "").split(",")}
        # HTTP/1.1 keeps the connection unless told to close it; HTTP/1.0 closes it unless told to keep it
        keep_alive = "keep-alive" in connection if request.version == "1.0" else "close" not in connection
        if "transfer-encoding" in headers:
            return False  # not read: the connection closes after the answer
        lengths = {value.strip() for value in headers.get("content-length", "0").split(",")}
        if len(lengths) != 1 or not (length_text := lengths.pop()).isdigit() or not length_text.isascii():
            raise _BadRequest(400)
        length = int(length_text)
        if length > MAX_DROPPED_BODY:
            return False
        if length:
            if headers.get("expect", "").lower() == "100-continue":
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            async with asyncio.timeout(self.keepalive_timeout):
                await reader.readexactly(length)
        return keep_alive

    async def _respond(self, request: Request) -> Response:
        try:
            return await self.handler(request)
        except Exception:
            print(f"tinyhttp: error handling {request.method} {request.target}:", file=sys.stderr)
            traceback.print_exc()
            sys.stderr.flush()
            return self.error_response(500)

    def _now(self) -> str:
        second = int(time.time())
        if self._date[0] != second:
            self._date = (second, http_date(second))
        return self._date[1]

    async def _send(self, writer: asyncio.StreamWriter, request: Request | None, response: Response, *,
                    keep_alive: bool) -> int:
        """Write the response; the number of body bytes sent."""
        stream = response.stream
        try:
            status = response.status
            lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}"]
            if self.server_header and "Server" not in response.headers:
                lines.append(f"Server: {self.server_header}")
            lines.append(f"Date: {self._now()}")
            lines.extend(f"{name}: {value}" for name, value in response.headers.items())
            bodiless = status < 200 or status in (204, 304)
            if not bodiless:
                lines.append(f"Content-Length: {response.content_length}")
            if not keep_alive:
                lines.append("Connection: close")
            elif request is not None and request.version == "1.0":
                lines.append("Connection: keep-alive")
            head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
            if bodiless or (request is not None and request.method == "HEAD"):
                writer.write(head)
                await writer.drain()
                return 0
            if stream is None:
                writer.write(head + response.body)
                await writer.drain()
                return len(response.body)
            remaining = response.stream_length
            sent = 0
            while remaining > 0:
                chunk = stream.read(min(CHUNK, remaining))
                if not chunk:  # the file got shorter than announced: the peer must not wait for the rest
                    writer.transport.abort()
                    raise ConnectionAbortedError("file shorter than its Content-Length")
                writer.write(head + chunk if head else chunk)
                head = b""
                remaining -= len(chunk)
                sent += len(chunk)
                await writer.drain()
            if head:
                writer.write(head)
                await writer.drain()
            return sent
        finally:
            if stream is not None:
                stream.close()


async def _read_line(reader: asyncio.StreamReader, too_long: int) -> bytes:
    """One line with its LF; b"" at the end of the stream; _BadRequest(too_long) over MAX_LINE."""
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.IncompleteReadError as error:
        if error.partial:
            raise
        return b""
    except asyncio.LimitOverrunError:
        raise _BadRequest(too_long) from None
    if len(line) > MAX_LINE + 2:
        raise _BadRequest(too_long)
    return line
