"""tinyhttp: a small HTTP/1.1 server, a thread per connection, for the programs of kubelab's image catalog.

The catalog's images (demo_app.py, static_server.py) are workloads inside containers, started by the
hundred, so they should start like a compiled binary: this module uses the standard library only and costs
next to nothing to import (aiohttp cost 0.36 s of CPU and 34 MB per process; asyncio alone, ~35 ms of CPU at
each start). The scripts run with `python -I -S`, outside kubelab's packages, and import it from their own
directory (see demo_app.py).

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

Routing and methods (405) are the handler's: it gets every well-formed request, in the connection's own
thread (a slow handler holds up its connection only). The scripts' main thread waits for its signals with
`hold_signals` and `wait_signal`, which keep them from the connections' threads.
"""

from __future__ import annotations

import contextlib
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterable

TYPE_CHECKING = False  # typing costs milliseconds at each container start
if TYPE_CHECKING:
    from typing import BinaryIO

MAX_LINE = 8190  # request line or one header line, without its CRLF (aiohttp's and nginx's 8 KiB)
MAX_HEADERS = 100
MAX_DROPPED_BODY = 1 << 20  # a larger request body is not read: the connection closes after the answer
CHUNK = 64 * 1024
KEEPALIVE_TIMEOUT = 75.0  # seconds an idle connection (or a request's head in transit) may take
BACKLOG = 100  # asyncio.start_server's

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
_HEX = frozenset("0123456789abcdefABCDEF")
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Request:
    __slots__ = ("headers", "method", "query", "raw_path", "remote", "target", "version")

    def __init__(self, method: str, target: str, version: str, headers: dict[str, str], remote: str,
                 raw_path: str = "", query: str = "") -> None:
        self.method = method  # as sent: GET, HEAD...
        self.target = target  # the request target as sent: "/a%20b?x=1"
        self.version = version  # "1.1", "1.0"
        self.headers = headers  # names lower-cased; a repeated header's values joined with ", "
        self.remote = remote  # the peer's address ("127.0.0.1", "::1"), "" when unknown
        self.raw_path = raw_path  # the target's path as sent ("/a%20b"); for an absolute-form target, its path
        self.query = query  # after "?", as sent

    @property
    def path(self) -> str:
        """The percent-decoded path ("/a b")."""
        return unquote(self.raw_path)

    @property
    def path_qs(self) -> str:
        return f"{self.raw_path}?{self.query}" if self.query else self.raw_path


class Response:
    __slots__ = ("body", "headers", "status", "stream", "stream_length")

    def __init__(self, status: int = 200, body: bytes = b"", headers: dict[str, str] | None = None,
                 stream: BinaryIO | None = None, stream_length: int = 0) -> None:
        self.status = status
        self.body = body
        self.headers = headers if headers is not None else {}  # Content-Type, Location...: the server adds the rest
        self.stream = stream  # instead of body: `stream_length` bytes read from this open file, then closed
        self.stream_length = stream_length

    @property
    def content_length(self) -> int:
        return self.stream_length if self.stream is not None else len(self.body)


Handler = Callable[[Request], Response]
AccessLog = Callable[[Request, Response, int], None]  # request, response, body bytes sent (after sending)


def text(content: str, status: int = 200, *, content_type: str = "text/plain; charset=utf-8",
         headers: dict[str, str] | None = None) -> Response:
    return Response(status=status, body=content.encode(), headers={"Content-Type": content_type, **(headers or {})})


def default_error(status: int) -> Response:
    return text(f"{status}: {REASONS.get(status, 'Error')}", status)


def unquote(value: str) -> str:
    """Percent-decoding as urllib.parse.unquote does it (UTF-8, invalid sequences replaced)."""
    if "%" not in value:
        return value
    first, *rest = value.split("%")
    data = bytearray(first.encode())
    for part in rest:
        if len(part) >= 2 and part[0] in _HEX and part[1] in _HEX:
            data.append(int(part[:2], 16))
            data += part[2:].encode()
        else:
            data += b"%" + part.encode()
    return data.decode("utf-8", "replace")


def split_absolute(target: str) -> tuple[str, str]:
    """(path, query) of an absolute-form target ("http://host/p?q"), as urllib.parse.urlsplit gives them."""
    rest = target.partition("://")[2]
    ends = [index for index in (rest.find("/"), rest.find("?")) if index >= 0]
    path, _, query = rest[min(ends, default=len(rest)):].partition("?")
    return path, query


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


def say(line: str) -> None:
    """One line on stdout, whole, at once: connections answer (and log) from threads of their own."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def hold_signals(signums: Iterable[int]) -> None:
    """Keep these signals pending for `wait_signal` instead of delivering them: call it in the main thread
    before any other thread starts, as threads inherit it."""
    signal.pthread_sigmask(signal.SIG_BLOCK, set(signums))


def wait_signal(signums: Iterable[int], timeout: float | None) -> int | None:
    """The first of the held signals to arrive, or None after `timeout` seconds (None: no limit)."""
    wanted = set(signums)
    if timeout is None:
        return signal.sigwait(wanted)
    info = signal.sigtimedwait(wanted, max(0.0, timeout))
    return info.si_signo if info is not None else None


class _BadRequest(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(status)
        self.status = status


class _Incomplete(Exception):
    """The peer ended the connection in the middle of a request."""


class _Reader:
    """Buffered reads from a connection, each within the deadline set for the request."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()
        self.deadline = 0.0

    def _fill(self) -> bool:
        """More data into the buffer; False at the end of the stream; TimeoutError past the deadline."""
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("request timed out")
        self.sock.settimeout(remaining)
        data = self.sock.recv(CHUNK)
        if not data:
            return False
        self.buffer += data
        return True

    def line(self, too_long: int) -> bytes:
        """One line with its LF; b"" at the end of the stream; _BadRequest(too_long) over MAX_LINE."""
        searched = 0
        while True:
            end = self.buffer.find(b"\n", searched)
            if end >= 0:
                if end + 1 > MAX_LINE + 2:
                    raise _BadRequest(too_long)
                line = bytes(self.buffer[:end + 1])
                del self.buffer[:end + 1]
                return line
            if len(self.buffer) > MAX_LINE + 2:
                raise _BadRequest(too_long)
            searched = len(self.buffer)
            if not self._fill():
                if self.buffer:
                    raise _Incomplete
                return b""

    def skip(self, count: int) -> None:
        """Read and drop `count` bytes."""
        while count:
            if not self.buffer and not self._fill():
                raise _Incomplete
            taken = min(count, len(self.buffer))
            del self.buffer[:taken]
            count -= taken


class _Connection:
    __slots__ = ("idle", "sock", "thread")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.idle = True  # waiting for (the head of) the next request
        self.thread = threading.current_thread()

    def abort(self) -> None:
        """End it from another thread: its blocked reads and writes return at once."""
        _shutdown(self.sock)


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
        self._listeners: list[tuple[socket.socket, threading.Thread]] = []
        self._connections: set[_Connection] = set()
        self._lock = threading.Lock()
        self._closing = False
        self._date = (0, "")

    def listen(self, host: str | None, port: int) -> None:
        """Listen on `host` (None: every address, IPv4 and IPv6) and `port` (0: any free one, see addresses;
        with host None each family gets its own)."""
        hosts = [host] if host is not None else ["0.0.0.0", "::"] if socket.has_ipv6 else ["0.0.0.0"]
        bound: list[socket.socket] = []
        try:
            for name in hosts:
                for family, kind, proto, address in _addresses(name, port):
                    listener = socket.socket(family, kind, proto)
                    bound.append(listener)
                    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                    if family == socket.AF_INET6:
                        listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                    try:
                        listener.bind(address)
                    except OSError as error:
                        raise OSError(error.errno, f"error while attempting to bind on address {address!r}: "
                                                   f"{(error.strerror or '').lower()}") from None
                    listener.listen(BACKLOG)
        except BaseException:
            for listener in bound:
                listener.close()
            raise
        for listener in bound:
            thread = threading.Thread(target=self._accept, args=(listener,), name="tinyhttp-accept", daemon=True)
            self._listeners.append((listener, thread))
            thread.start()

    @property
    def addresses(self) -> list[tuple[str, int]]:
        """(host, port) of every listening socket."""
        return [listener.getsockname()[:2] for listener, _ in self._listeners]

    def close(self, grace: float = 1.0) -> None:
        """Stop listening, close idle connections, give requests in progress `grace` seconds, abort the rest."""
        with self._lock:
            self._closing = True
            idle = [c for c in self._connections if c.idle]
            busy = [c.thread for c in self._connections if not c.idle]
        for listener, _ in self._listeners:
            _shutdown(listener)  # wakes its accept()
        for connection in idle:
            connection.abort()
        deadline = time.monotonic() + grace
        for thread in busy:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._lock:
            left = list(self._connections)
        for connection in left:
            connection.abort()
        for connection in left:  # a handler that does not return keeps its thread (a daemon)
            connection.thread.join(0.5)
        for listener, thread in self._listeners:
            thread.join(1)
            listener.close()
        self._listeners.clear()

    # ---- accepting -----------------------------------------------------------------------------------------

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, peer = listener.accept()
            except OSError:
                if self._closing:
                    return
                time.sleep(0.01)  # EMFILE and the like: try again
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio does
            remote = str(peer[0]) if isinstance(peer, tuple) and peer else ""
            threading.Thread(target=self._serve_connection, args=(sock, remote), name="tinyhttp-connection",
                             daemon=True).start()

    # ---- one connection ---------------------------------------------------------------------------------

    def _serve_connection(self, sock: socket.socket, remote: str) -> None:
        connection = _Connection(sock)
        with self._lock:
            if self._closing:
                sock.close()
                return
            self._connections.add(connection)
        reader = _Reader(sock)
        linger = True  # drain the peer's leftovers before closing, unless it closed first
        try:
            while True:
                with self._lock:
                    if self._closing:
                        break
                    connection.idle = True
                try:
                    reader.deadline = time.monotonic() + self.keepalive_timeout
                    request = self._read_request(reader, remote)
                    if request is None:
                        linger = False
                        break
                    with self._lock:
                        connection.idle = False
                    keep_alive = self._read_body(reader, sock, request)
                except _BadRequest as error:
                    self._send(sock, None, self.error_response(error.status), keep_alive=False)
                    break
                response = self._respond(request)
                keep_alive = keep_alive and not self._closing
                sent = self._send(sock, request, response, keep_alive=keep_alive)
                if self.access_log is not None:
                    self.access_log(request, response, sent)
                if not keep_alive:
                    break
        except (OSError, _Incomplete):  # ConnectionError, TimeoutError, a file that failed to read
            linger = False  # the peer went away or was too slow, or the answer cannot be finished
        finally:
            with self._lock:
                self._connections.discard(connection)
            if linger:
                _lingering_close(sock)
            sock.close()

    def _read_request(self, reader: _Reader, remote: str) -> Request | None:
        """The next request's head; None when the peer closed the connection between requests."""
        line = b""
        for _ in range(8):  # empty lines before a request line are allowed (RFC 9112 2.2)
            line = reader.line(414)
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
            line = reader.line(431)
            if not line:
                raise _Incomplete
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
            path, request.query = split_absolute(target_text)
            request.raw_path = path or "/"
        else:
            raise _BadRequest(400)
        return request

    def _read_body(self, reader: _Reader, sock: socket.socket, request: Request) -> bool:
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
                sock.settimeout(None)
                sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            reader.deadline = time.monotonic() + self.keepalive_timeout
            reader.skip(length)
        return keep_alive

    def _respond(self, request: Request) -> Response:
        try:
            return self.handler(request)
        except Exception:
            import traceback  # only for this

            with self._lock:
                print(f"tinyhttp: error handling {request.method} {request.target}:", file=sys.stderr)
                traceback.print_exc()
                sys.stderr.flush()
            return self.error_response(500)

    def _now(self) -> str:
        second = int(time.time())
        date = self._date
        if date[0] != second:
            date = self._date = (second, http_date(second))
        return date[1]

    def _send(self, sock: socket.socket, request: Request | None, response: Response, *, keep_alive: bool) -> int:
        """Write the response; the number of body bytes sent."""
        stream = response.stream
        try:
            sock.settimeout(None)  # as long as the peer reads (close() ends it after its grace)
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
                sock.sendall(head)
                return 0
            if stream is None:
                sock.sendall(head + response.body)
                return len(response.body)
            remaining = response.stream_length
            sent = 0
            while remaining > 0:
                chunk = stream.read(min(CHUNK, remaining))
                if not chunk:  # the file got shorter than announced: the peer must not wait for the rest
                    sock.shutdown(socket.SHUT_RDWR)
                    raise ConnectionAbortedError("file shorter than its Content-Length")
                sock.sendall(head + chunk if head else chunk)
                head = b""
                remaining -= len(chunk)
                sent += len(chunk)
            if head:
                sock.sendall(head)
            return sent
        finally:
            if stream is not None:
                stream.close()


_Address = tuple[int, int, int, "tuple[str, int] | tuple[str, int, int, int] | tuple[int, bytes]"]


def _addresses(host: str, port: int) -> list[_Address]:
    """Where to listen for `host`: a numeric address as it is (as asyncio does it, and no resolver or codec
    loaded for it), a name through getaddrinfo."""
    for family, address in ((socket.AF_INET, (host, port)), (socket.AF_INET6, (host, port, 0, 0))):
        try:
            socket.inet_pton(family, host)
        except OSError:
            continue
        return [(family, socket.SOCK_STREAM, socket.IPPROTO_TCP, address)]
    return [(family, kind, proto, address) for family, kind, proto, _, address in
            socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)]


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # not connected any more
        sock.shutdown(socket.SHUT_RDWR)


def _lingering_close(sock: socket.socket) -> None:
    """Half-close, then drop what the peer already sent that was not read (a body left unread): closing
    a socket with unread data resets the connection, and the peer could lose the answer it has not read."""
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.setblocking(False)
        for _ in range(MAX_DROPPED_BODY // CHUNK):
            if not sock.recv(CHUNK):
                return
    except OSError:  # nothing more for now (EAGAIN), or the peer is gone
        pass
