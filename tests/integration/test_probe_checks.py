"""The probe checks against real servers on 127.0.0.1: successes and the kubelet's exact failure messages.

No root needed: small aiohttp, TCP and gRPC health servers listen on loopback ports picked by the
kernel; a port that refuses is one that was bound and closed; a timeout comes from a handler that
sleeps longer than the probe's timeout, or from a listener whose accept queue is full.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from aiohttp import web
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio  # type: ignore[attr-defined]

from agent.probes.checks import (
    USER_AGENT,
    ProbeError,
    ProbeResult,
    exec_check,
    grpc_health,
    http_get,
    run_probe,
    tcp_socket,
)
from controlplane.api.v1 import core_pb2

LOOPBACK = "127.0.0.1"
UNROUTABLE = "192.0.2.1"  # TEST-NET-1: never a pod here, proves the action's host is used


def free_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused."""
    with socket.socket() as probe_socket:
        probe_socket.bind((LOOPBACK, 0))
        port: int = probe_socket.getsockname()[1]
    return port


def http_action(port: int | str, path: str = "/healthz", *, host: str = "", scheme: str = "HTTP"
                ) -> core_pb2.HTTPGetAction:
    action = core_pb2.HTTPGetAction(path=path, host=host, scheme=scheme)
    if isinstance(port, int):
        action.port.int_val = port
    else:
        action.port.str_val = port
    return action


def tcp_action(port: int | str, host: str = "") -> core_pb2.TCPSocketAction:
    action = core_pb2.TCPSocketAction(host=host)
    if isinstance(port, int):
        action.port.int_val = port
    else:
        action.port.str_val = port
    return action


# ---------------------------------------------------------------------------------------------- servers


@dataclass
class HttpServer:
    port: int
    seen: list[dict[str, str]]


async def _serve(app: web.Application, ssl_context: ssl.SSLContext | None = None) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=0.5)
    await runner.setup()
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    site = web.SockSite(runner, listener, ssl_context=ssl_context)
    await site.start()
    return runner, listener.getsockname()[1]


def _app(seen: list[dict[str, str]]) -> web.Application:
    async def healthz(request: web.Request) -> web.Response:
        seen.append(dict(request.headers))
        return web.Response(text="ok")

    async def status(request: web.Request) -> web.Response:
        return web.Response(status=int(request.match_info["code"]), text="body that must not show")

    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(text="too late")

    async def slow_body(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"partial")
        await asyncio.sleep(5)
        return response

    async def redirect(request: web.Request) -> web.Response:
        raise web.HTTPFound(request.query.get("to", "/healthz"))

    async def loop(request: web.Request) -> web.Response:
        raise web.HTTPFound("/loop")

    async def big(request: web.Request) -> web.Response:
        return web.Response(body=b"x" * 20_000)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/status/{code}", status)
    app.router.add_get("/slow", slow)
    app.router.add_get("/slow-body", slow_body)
    app.router.add_get("/redirect", redirect)
    app.router.add_get("/loop", loop)
    app.router.add_get("/big", big)
    return app


@pytest.fixture
async def http_server() -> AsyncIterator[HttpServer]:
    seen: list[dict[str, str]] = []
    runner, port = await _serve(_app(seen))
    try:
        yield HttpServer(port, seen)
    finally:
        await runner.cleanup()


@pytest.fixture
def certificate(tmp_path: Path) -> Iterator[ssl.SSLContext]:
    """A self-signed certificate, as a pod serving HTTPS would have: the kubelet does not verify it."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=pod.invalid"], check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    yield context


@pytest.fixture
async def https_server(certificate: ssl.SSLContext) -> AsyncIterator[int]:
    runner, port = await _serve(_app([]), certificate)
    try:
        yield port
    finally:
        await runner.cleanup()


@pytest.fixture
async def tcp_server() -> AsyncIterator[int]:
    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(accept, LOOPBACK, 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def full_listener() -> Iterator[int]:
    """A port that accepts no more connections: its backlog is full, so a connect hangs."""
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):  # the handshake goes on in the kernel
            filler.connect((LOOPBACK, port))
        fillers.append(filler)
    time.sleep(0.05)
    try:
        yield port
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


@pytest.fixture
async def grpc_server() -> AsyncIterator[int]:
    server = grpc.aio.server()
    health = health_aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    await health.set("api", health_pb2.HealthCheckResponse.NOT_SERVING)
    port = server.add_insecure_port(f"{LOOPBACK}:0")
    await server.start()
    try:
        yield port
    finally:
        await server.stop(None)


@pytest.fixture
async def grpc_server_without_health() -> AsyncIterator[int]:
    server = grpc.aio.server()
    port = server.add_insecure_port(f"{LOOPBACK}:0")
    await server.start()
    try:
        yield port
    finally:
        await server.stop(None)


# ---------------------------------------------------------------------------------------------- httpGet


async def test_http_success_for_2xx_and_3xx(http_server: HttpServer) -> None:
    assert await http_get(http_action(http_server.port), LOOPBACK, {}, 1) == ProbeResult(True, "ok")
    for code in (200, 204, 299):
        assert (await http_get(http_action(http_server.port, f"/status/{code}"), LOOPBACK, {}, 1)).success, code
    not_modified = await http_get(http_action(http_server.port, "/status/304"), LOOPBACK, {}, 1)
    assert not_modified.success and not_modified.warning


@pytest.mark.parametrize("code", [400, 404, 500, 503])
async def test_http_failure_names_the_status_code_only(http_server: HttpServer, code: int) -> None:
    result = await http_get(http_action(http_server.port, f"/status/{code}"), LOOPBACK, {}, 1)
    assert result == ProbeResult(False, f"HTTP probe failed with statuscode: {code}")


async def test_http_refused() -> None:
    port = free_port()
    result = await http_get(http_action(port), LOOPBACK, {}, 1)
    assert result == ProbeResult(False, f'Get "http://127.0.0.1:{port}/healthz": dial tcp 127.0.0.1:{port}: '
                                        "connect: connection refused")


async def test_http_timeout_while_awaiting_headers(http_server: HttpServer) -> None:
    started = time.monotonic()
    result = await http_get(http_action(http_server.port, "/slow"), LOOPBACK, {}, 0.3)
    assert time.monotonic() - started < 2
    assert result == ProbeResult(False, f'Get "http://127.0.0.1:{http_server.port}/slow": context deadline '
                                        "exceeded (Client.Timeout exceeded while awaiting headers)")


async def test_http_timeout_while_reading_the_body(http_server: HttpServer) -> None:
    result = await http_get(http_action(http_server.port, "/slow-body"), LOOPBACK, {}, 0.3)
    assert result == ProbeResult(False, "context deadline exceeded (Client.Timeout or context cancellation "
                                        "while reading body)")


async def test_http_timeout_when_nobody_accepts(full_listener: int) -> None:
    result = await http_get(http_action(full_listener), LOOPBACK, {}, 0.3)
    assert result.message == (f'Get "http://127.0.0.1:{full_listener}/healthz": context deadline exceeded '
                              "(Client.Timeout exceeded while awaiting headers)")


async def test_http_named_port_host_and_headers(http_server: HttpServer) -> None:
    action = http_action("http", host=LOOPBACK)
    action.http_headers.add(name="X-Custom", value="yes")
    action.http_headers.add(name="Host", value="app.example")
    result = await http_get(action, UNROUTABLE, {"http": http_server.port}, 1)
    assert result.success
    headers = http_server.seen[-1]
    assert headers["X-Custom"] == "yes" and headers["Host"] == "app.example"
    assert headers["User-Agent"] == USER_AGENT == "kube-probe/1.32" and headers["Accept"] == "*/*"


async def test_http_headers_override_and_remove_defaults(http_server: HttpServer) -> None:
    action = http_action(http_server.port)
    action.http_headers.add(name="User-Agent", value="custom/1")
    action.http_headers.add(name="Accept", value="")
    assert (await http_get(action, LOOPBACK, {}, 1)).success
    headers = http_server.seen[-1]
    assert headers["User-Agent"] == "custom/1" and "Accept" not in headers


async def test_http_unknown_named_port_errors(http_server: HttpServer) -> None:
    with pytest.raises(ProbeError, match=re.escape('strconv.Atoi: parsing "http": invalid syntax')):
        await http_get(http_action("http"), LOOPBACK, {"web": http_server.port}, 1)


async def test_http_follows_redirects_on_the_same_host(http_server: HttpServer) -> None:
    assert await http_get(http_action(http_server.port, "/redirect"), LOOPBACK, {}, 1) == ProbeResult(True, "ok")


async def test_http_redirect_elsewhere_is_a_success_with_a_warning(http_server: HttpServer) -> None:
    result = await http_get(http_action(http_server.port, "/redirect?to=http://elsewhere.invalid/"), LOOPBACK, {}, 1)
    assert result.success and result.warning
    assert result.message.startswith("Probe terminated redirects, Response body: ")


async def test_http_redirect_loop_stops_after_ten(http_server: HttpServer) -> None:
    result = await http_get(http_action(http_server.port, "/loop"), LOOPBACK, {}, 2)
    assert result == ProbeResult(False, f'Get "http://127.0.0.1:{http_server.port}/loop": stopped after 10 '
                                        "redirects")


async def test_http_success_message_is_the_body_read_up_to_10k(http_server: HttpServer) -> None:
    result = await http_get(http_action(http_server.port, "/big"), LOOPBACK, {}, 1)
    assert result.success and result.message == "x" * 10_240


async def test_https_does_not_verify_the_certificate(https_server: int) -> None:
    result = await http_get(http_action(https_server, scheme="HTTPS"), LOOPBACK, {}, 2)
    assert result == ProbeResult(True, "ok")


async def test_https_to_a_plain_http_server(http_server: HttpServer) -> None:
    result = await http_get(http_action(http_server.port, scheme="HTTPS"), LOOPBACK, {}, 1)
    assert result == ProbeResult(False, f'Get "https://127.0.0.1:{http_server.port}/healthz": http: server gave '
                                        "HTTP response to HTTPS client")


# ---------------------------------------------------------------------------------------------- tcpSocket


async def test_tcp_success(tcp_server: int) -> None:
    assert await tcp_socket(tcp_action(tcp_server), LOOPBACK, {}, 1) == ProbeResult(True, "")
    assert (await tcp_socket(tcp_action("db"), LOOPBACK, {"db": tcp_server}, 1)).success
    assert (await tcp_socket(tcp_action(tcp_server, host=LOOPBACK), UNROUTABLE, {}, 1)).success


async def test_tcp_refused() -> None:
    port = free_port()
    result = await tcp_socket(tcp_action(port), LOOPBACK, {}, 1)
    assert result == ProbeResult(False, f"dial tcp 127.0.0.1:{port}: connect: connection refused")


async def test_tcp_timeout(full_listener: int) -> None:
    started = time.monotonic()
    result = await tcp_socket(tcp_action(full_listener), LOOPBACK, {}, 0.3)
    assert time.monotonic() - started < 2
    assert result == ProbeResult(False, f"dial tcp 127.0.0.1:{full_listener}: i/o timeout")


# ---------------------------------------------------------------------------------------------- grpc


async def test_grpc_serving(grpc_server: int) -> None:
    result = await grpc_health(core_pb2.GRPCAction(port=grpc_server), LOOPBACK, 1)
    assert result.success


async def test_grpc_not_serving(grpc_server: int) -> None:
    result = await grpc_health(core_pb2.GRPCAction(port=grpc_server, service="api"), LOOPBACK, 1)
    assert result == ProbeResult(False, 'service unhealthy (responded with "NOT_SERVING")')


async def test_grpc_unknown_service(grpc_server: int) -> None:
    result = await grpc_health(core_pb2.GRPCAction(port=grpc_server, service="nope"), LOOPBACK, 1)
    assert not result.success
    # the description is the server's own (grpc-go says "unknown service", grpcio's servicer says nothing)
    assert result.message.startswith("error: health rpc probe failed: rpc error: code = NotFound desc = ")


async def test_grpc_server_without_the_health_service(grpc_server_without_health: int) -> None:
    result = await grpc_health(core_pb2.GRPCAction(port=grpc_server_without_health), LOOPBACK, 1)
    assert not result.success
    assert result.message.startswith("error: this server does not implement the grpc health protocol "
                                     "(grpc.health.v1.Health): ")


async def test_grpc_refused_is_a_connect_timeout() -> None:
    port = free_port()
    started = time.monotonic()
    result = await grpc_health(core_pb2.GRPCAction(port=port), LOOPBACK, 0.5)
    assert time.monotonic() - started < 2
    assert result == ProbeResult(False, f'timeout: failed to connect service "127.0.0.1:{port}" within 500ms: '
                                        "context deadline exceeded")


# ---------------------------------------------------------------------------------------------- exec


async def subprocess_runner(command: Sequence[str], timeout: float) -> tuple[int, bytes]:
    """What the agent passes for a container: here the command runs on this machine."""
    process = await asyncio.create_subprocess_exec(*command, stdout=asyncio.subprocess.PIPE,
                                                   stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await process.communicate()
    except asyncio.CancelledError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, output


async def test_exec_exit_status_decides_and_output_is_the_message() -> None:
    assert await exec_check(["sh", "-c", "echo ready"], 2, subprocess_runner) == ProbeResult(True, "ready\n")
    result = await exec_check(["sh", "-c", "echo \"cat: can't open '/tmp/ready'\" >&2; exit 1"], 2, subprocess_runner)
    assert result == ProbeResult(False, "cat: can't open '/tmp/ready'\n")


async def test_exec_timeout() -> None:
    started = time.monotonic()
    result = await exec_check(["sleep", "5"], 0.3, subprocess_runner)
    assert time.monotonic() - started < 2
    assert result == ProbeResult(False, 'command "sleep 5" timed out')


async def test_exec_runner_failure_errors() -> None:
    async def gone(command: Sequence[str], timeout: float) -> tuple[int, bytes]:
        raise RuntimeError("container not found (\"api\")")

    with pytest.raises(ProbeError, match="container not found"):
        await exec_check(["true"], 1, gone)


async def test_exec_output_is_cut_at_10k() -> None:
    async def chatty(command: Sequence[str], timeout: float) -> tuple[int, bytes]:
        return 1, b"y" * 50_000

    result = await exec_check(["x"], 1, chatty)
    assert not result.success and result.message == "y" * 10_240


# ---------------------------------------------------------------------------------------------- dispatch


async def test_run_probe_uses_the_probe_handler_and_timeout(http_server: HttpServer, tcp_server: int,
                                                            grpc_server: int) -> None:
    probe = core_pb2.Probe(timeout_seconds=1)
    probe.http_get.CopyFrom(http_action("web"))
    assert (await run_probe(probe, pod_ip=LOOPBACK, ports={"web": http_server.port})).success

    probe = core_pb2.Probe()
    probe.tcp_socket.CopyFrom(tcp_action(tcp_server))
    assert (await run_probe(probe, pod_ip=LOOPBACK, ports={})).success

    probe = core_pb2.Probe()
    probe.grpc.port = grpc_server
    assert (await run_probe(probe, pod_ip=LOOPBACK, ports={})).success

    probe = core_pb2.Probe()
    probe.exec.command.extend(["sh", "-c", "exit 3"])
    assert not (await run_probe(probe, pod_ip=LOOPBACK, ports={}, run=subprocess_runner)).success
    with pytest.raises(ProbeError):
        await run_probe(probe, pod_ip=LOOPBACK, ports={})
    with pytest.raises(ProbeError, match="missing probe handler"):
        await run_probe(core_pb2.Probe(), pod_ip=LOOPBACK, ports={})

