"""The nginx stand-in: config parsing and what it serves."""

from __future__ import annotations

import asyncio
import http.client
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from agent.images import nginx_files
from agent.images.static_server import DEFAULT_ROOT, ServerConfig, make_app, parse_conf
from tests.support.wait import eventually


def test_the_default_conf_gives_port_80_and_the_html_root() -> None:
    assert parse_conf([nginx_files.DEFAULT_CONF.decode()]) == ServerConfig(ports=(80,), root=DEFAULT_ROOT)


def test_no_conf_gives_the_defaults() -> None:
    assert parse_conf([]) == ServerConfig()


def test_a_mounted_conf_moves_port_and_root() -> None:
    conf = """
    server {
        # listen 9999;
        listen 8080 default_server;
        listen [::]:8080;
        listen 127.0.0.1:8081;
        location / { root "/data/www"; }
    }
    """
    assert parse_conf([conf]) == ServerConfig(ports=(8080, 8081), root="/data/www")


@dataclass
class Reply:
    status: int
    headers: http.client.HTTPMessage
    text: str


@dataclass
class Client:
    """A plain HTTP/1.1 client for the server on 127.0.0.1: one connection a request, no redirects followed."""

    port: int

    async def get(self, path: str, headers: dict[str, str] | None = None, method: str = "GET") -> Reply:
        return await asyncio.to_thread(self._request, method, path, headers or {})

    def _request(self, method: str, path: str, headers: dict[str, str]) -> Reply:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            connection.request(method, path, headers=headers)
            response = connection.getresponse()
            return Reply(response.status, response.headers, response.read().decode())
        finally:
            connection.close()


@pytest.fixture
async def client(tmp_path: Path) -> AsyncIterator[Client]:
    (tmp_path / "index.html").write_bytes(nginx_files.INDEX_HTML)
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "a.txt").write_text("A\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "big.bin").write_bytes(bytes(range(256)) * 1024)
    app = make_app(ServerConfig(root=str(tmp_path)))
    app.listen("127.0.0.1", 0)
    try:
        yield Client(app.addresses[0][1])
    finally:
        await asyncio.to_thread(app.close)


async def test_serves_the_index_and_files_with_nginx_headers(client: Client) -> None:
    response = await client.get("/")
    assert response.status == 200
    assert "Welcome to nginx!" in response.text
    assert response.headers["Server"].startswith("nginx/")
    assert response.headers["Content-Type"].startswith("text/html")
    response = await client.get("/docs/a.txt")
    assert (response.status, response.text) == (200, "A\n")


async def test_missing_forbidden_and_escaping_paths(client: Client) -> None:
    response = await client.get("/nope.html")
    assert response.status == 404
    assert "404 Not Found" in response.text
    assert (await client.get("/empty/")).status == 403
    assert (await client.get("/docs")).status == 301
    assert (await client.get("/../../etc/passwd")).status in (400, 404)
    assert (await client.get("/%2e%2e/%2e%2e/etc/passwd")).status == 400


async def test_a_directory_redirects_to_its_slash_keeping_the_encoding_and_query(client: Client) -> None:
    response = await client.get("/docs?x=1")
    assert response.status == 301
    assert response.headers["Location"] == "/docs/?x=1"
    assert "301 Moved Permanently" in response.text


async def test_head_gets_the_headers_and_other_methods_405(client: Client) -> None:
    response = await client.get("/docs/a.txt", method="HEAD")
    assert (response.status, response.headers["Content-Length"], response.text) == (200, "2", "")
    response = await client.get("/", method="POST")
    assert response.status == 405
    assert "405 Not Allowed" in response.text
    assert response.headers["Server"].startswith("nginx/")


async def test_a_large_file_streams_whole_and_a_range_gives_206(client: Client) -> None:
    data = bytes(range(256)) * 1024
    response = await asyncio.to_thread(_raw_get, client.port, "/big.bin", {})
    assert response == (200, data)
    assert await asyncio.to_thread(_raw_get, client.port, "/big.bin", {"Range": "bytes=1000-1003"}) == (
        206, data[1000:1004])
    assert await asyncio.to_thread(_raw_get, client.port, "/big.bin", {"Range": "bytes=-2"}) == (206, data[-2:])
    response_416 = await client.get("/big.bin", {"Range": f"bytes={len(data)}-"})
    assert (response_416.status, response_416.headers["Content-Range"]) == (416, f"bytes */{len(data)}")


async def test_validators_give_304_and_412(client: Client) -> None:
    first = await client.get("/docs/a.txt")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert (await client.get("/docs/a.txt", {"If-None-Match": etag})).status == 304
    assert (await client.get("/docs/a.txt", {"If-Modified-Since": modified})).status == 304
    assert (await client.get("/docs/a.txt", {"If-Modified-Since": "Thu, 01 Jan 1970 00:00:00 GMT"})).status == 200
    assert (await client.get("/docs/a.txt", {"If-Match": '"other"'})).status == 412


async def test_each_request_is_logged_in_the_combined_format(client: Client,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    await client.get("/?q=1", {"User-Agent": "probe/1", "Referer": "http://x/"})
    await client.get("/nope", method="HEAD")
    lines: list[str] = []

    async def both_logged() -> bool:  # each once sent: the client may have its answer before the line is out
        lines.extend(capsys.readouterr().out.splitlines())
        return len(lines) >= 2

    await eventually(both_logged, timeout=3, what="both requests in the access log")
    assert lines[0].startswith("127.0.0.1 - - [")
    assert lines[0].endswith(f'] "GET /?q=1 HTTP/1.1" 200 {len(nginx_files.INDEX_HTML)} "http://x/" "probe/1"')
    assert lines[1].endswith('] "HEAD /nope HTTP/1.1" 404 0 "-" "-"')


def _raw_get(port: int, path: str, headers: dict[str, str]) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
    try:
        connection.request("GET", path, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()
