"""The `nginx` of kubelab's image catalog: a static file server. Runs as a script (`nginx` in the image).

It serves the `root` (default /usr/share/nginx/html) on the `listen` ports (default 80) found in
/etc/nginx/conf.d/*.conf, on IPv4 and (when the network has it) IPv6: GET and HEAD (405 otherwise),
`index.html` for a directory (301 to the path with a "/" first), nginx's 400/403/404 pages otherwise,
with Content-Type, Last-Modified, ETag, 304 for If-None-Match / If-Modified-Since, 412 for If-Match /
If-Unmodified-Since, and one byte range (206, 416). Each request is logged in nginx's combined format on
stdout. nginx's own flags (`-g 'daemon off;'`, `-c`) are accepted and ignored. SIGTERM, SIGINT and SIGQUIT
make it exit 0 at once. Only the standard library is used, with tinyhttp.py beside this file: the script
runs with `python -I -S`, outside kubelab's packages, and starts like a compiled server would.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, BinaryIO, NamedTuple

if __package__ or TYPE_CHECKING:  # imported as agent.images.static_server (tests), or read by mypy
    from agent.images import tinyhttp
else:  # a script under `python -I -S`: its directory is not on sys.path, and kubelab's packages are not used
    sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
    import tinyhttp

import contextlib
import glob
import mimetypes
import re
import signal
import socket
import stat
from datetime import UTC, datetime

CONF_GLOB = "/etc/nginx/conf.d/*.conf"
DEFAULT_ROOT = "/usr/share/nginx/html"
SERVER = "nginx/1.27.3 (kubelab)"

_LISTEN = re.compile(r"^\s*listen\s+(?:\[[0-9a-fA-F:]*\]:|[0-9.]+:)?(\d+)\b[^;]*;", re.MULTILINE)
_ROOT = re.compile(r"\broot\s+([^;\s]+)\s*;")


class ServerConfig(NamedTuple):
    ports: tuple[int, ...] = (80,)
    root: str = DEFAULT_ROOT


def parse_conf(texts: list[str]) -> ServerConfig:
    """`listen` ports and the first `root` of nginx config files (pure)."""
    ports: list[int] = []
    root = ""
    for text in texts:
        text = re.sub(r"#[^\n]*", "", text)
        for match in _LISTEN.finditer(text):
            port = int(match.group(1))
            if 0 < port < 65536 and port not in ports:
                ports.append(port)
        if not root and (found := _ROOT.search(text)):
            root = found.group(1).strip("'\"")
    return ServerConfig(ports=tuple(ports) or (80,), root=root or DEFAULT_ROOT)


def _page(status: int, title: str) -> str:
    return (f"<html>\r\n<head><title>{status} {title}</title></head>\r\n<body>\r\n"
            f"<center><h1>{status} {title}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n")


TITLES = {301: "Moved Permanently", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Not Allowed",
          412: "Precondition Failed", 414: "Request-URI Too Large", 416: "Requested Range Not Satisfiable",
          431: "Request Header Fields Too Large", 500: "Internal Server Error", 505: "HTTP Version Not Supported"}


def error_page(status: int, headers: dict[str, str] | None = None) -> tinyhttp.Response:
    return tinyhttp.text(_page(status, TITLES.get(status, "Error")), status, content_type="text/html; charset=utf-8",
                         headers=headers)


def combined_log(request: tinyhttp.Request, response: tinyhttp.Response, sent: int) -> None:
    """nginx's "combined" access log line on stdout, once the response was sent."""
    stamp = datetime.now(UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")
    referer = request.headers.get("referer", "-")
    agent = request.headers.get("user-agent", "-")
    tinyhttp.say(f'{request.remote} - - [{stamp}] "{request.method} {request.path_qs} HTTP/{request.version}" '
                 f'{response.status} {sent} "{referer}" "{agent}"')


def _byte_range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) of a `Range: bytes=...` header with one range; None to send the whole file (no range,
    several, or not understood); (size, size) when it cannot be satisfied."""
    unit, _, spec = header.partition("=")
    if unit.strip().lower() != "bytes" or "," in spec:
        return None
    first_text, dash, last_text = spec.strip().partition("-")
    if not dash or not (first_text.isdigit() or last_text.isdigit()):
        return None
    if not first_text:  # the last N bytes
        count = int(last_text)
        return (max(0, size - count), size - 1) if count and size else (size, size)
    if last_text and not last_text.isdigit():
        return None
    first = int(first_text)
    last = min(int(last_text), size - 1) if last_text else size - 1
    if last_text and int(last_text) < first:
        return None
    return (first, last) if first < size else (size, size)


def _etag_matches(header: str, etag: str) -> bool:
    return any(tag.strip().removeprefix("W/") in ("*", etag) for tag in header.split(","))


def make_app(config: ServerConfig) -> tinyhttp.Server:
    root = os.path.normpath(config.root)
    inside = root if root.endswith("/") else root + "/"

    def serve_file(request: tinyhttp.Request) -> tinyhttp.Response:
        if request.method not in ("GET", "HEAD"):
            return error_page(405, {"Allow": "GET, HEAD"})
        path = request.path
        if "\x00" in path:
            return error_page(400)
        target = os.path.normpath(os.path.join(root, path.lstrip("/")))
        if target != root and not target.startswith(inside):
            return error_page(400)
        try:
            info = os.stat(target)
            if stat.S_ISDIR(info.st_mode):
                if not request.raw_path.endswith("/"):
                    location = request.raw_path + "/" + (f"?{request.query}" if request.query else "")
                    return error_page(301, {"Location": location})
                target = os.path.join(target, "index.html")
                try:
                    info = os.stat(target)
                except FileNotFoundError:
                    return error_page(403)
                if not stat.S_ISREG(info.st_mode):
                    return error_page(403)
            if not stat.S_ISREG(info.st_mode):
                return error_page(404)
            # the server closes it once sent
            file = open(target, "rb")  # noqa: SIM115
        except PermissionError:
            return error_page(403)
        except OSError:
            return error_page(404)
        try:
            return _file_response(request, file, os.path.basename(target))
        except BaseException:
            file.close()
            raise

    return tinyhttp.Server(serve_file, access_log=combined_log, server_header=SERVER, error_response=error_page)


def _file_response(request: tinyhttp.Request, file: BinaryIO, name: str) -> tinyhttp.Response:
    info = os.fstat(file.fileno())
    size, mtime = info.st_size, int(info.st_mtime)
    etag = f'"{mtime:x}-{size:x}"'
    last_modified = tinyhttp.http_date(mtime)
    headers = {"Content-Type": mimetypes.guess_type(name)[0] or "application/octet-stream",
               "Last-Modified": last_modified, "ETag": etag, "Accept-Ranges": "bytes"}
    ask = request.headers
    if "if-match" in ask and not _etag_matches(ask["if-match"], etag):
        file.close()
        return error_page(412)
    unmodified_since = tinyhttp.parse_http_date(ask.get("if-unmodified-since", ""))
    if "if-match" not in ask and unmodified_since is not None and mtime > unmodified_since:
        file.close()
        return error_page(412)
    modified_since = tinyhttp.parse_http_date(ask.get("if-modified-since", ""))
    if ("if-none-match" in ask and _etag_matches(ask["if-none-match"], etag)) or (
            "if-none-match" not in ask and modified_since is not None and mtime <= modified_since):
        file.close()
        return tinyhttp.Response(304, headers={"Last-Modified": last_modified, "ETag": etag})
    wanted = None
    if "range" in ask and ask.get("if-range", etag) in (etag, last_modified):
        wanted = _byte_range(ask["range"], size)
    if wanted is None:
        return tinyhttp.Response(200, headers=headers, stream=file, stream_length=size)
    first, last = wanted
    if first >= size:
        file.close()
        return error_page(416, {"Content-Range": f"bytes */{size}"})
    file.seek(first)
    headers["Content-Range"] = f"bytes {first}-{last}/{size}"
    return tinyhttp.Response(206, headers=headers, stream=file, stream_length=last - first + 1)


STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)


def serve(config: ServerConfig) -> int:
    tinyhttp.hold_signals(STOP_SIGNALS)  # before the server's threads start: they inherit it
    app = make_app(config)
    for port in config.ports:
        app.listen("0.0.0.0", port)
        if socket.has_ipv6:
            with contextlib.suppress(OSError):  # no IPv6 in this network namespace
                app.listen("::", port)
    ports = " ".join(str(p) for p in config.ports)
    tinyhttp.say(f"[notice] 1#1: nginx (kubelab static server) serving {config.root} on port {ports}")
    tinyhttp.wait_signal(STOP_SIGNALS, None)
    tinyhttp.say("[notice] 1#1: signal received, exiting")
    app.close(grace=1)
    return 0


def main(argv: list[str]) -> int:
    if "-v" in argv or "-V" in argv:
        print("nginx version: nginx/1.27.3 (kubelab static server)", file=sys.stderr)
        return 0
    texts = []
    for path in sorted(glob.glob(CONF_GLOB)):
        try:
            with open(path, errors="replace") as conf:
                texts.append(conf.read())
        except OSError:
            continue
    config = parse_conf(texts)
    if "-t" in argv:
        print("nginx: configuration file /etc/nginx/nginx.conf test is successful", file=sys.stderr)
        return 0
    return serve(config)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
