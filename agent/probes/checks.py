"""The probe checks themselves: one attempt each, with the kubelet's success rules and messages.

Each check returns a `ProbeResult(success, message)`; a failure's message is what the kubelet would
put after `Liveness probe failed: `, word for word where it can be (Go's net/http and net errors):

    httpGet    Get "http://10.244.1.5:3000/healthz": dial tcp 10.244.1.5:3000: connect: connection refused
               Get "http://10.244.1.5:3000/healthz": context deadline exceeded (Client.Timeout exceeded while
                   awaiting headers)     [one line]
               HTTP probe failed with statuscode: 500
    tcpSocket  dial tcp 10.244.1.5:80: connect: connection refused
               dial tcp 10.244.1.5:80: i/o timeout
    grpc       service unhealthy (responded with "NOT_SERVING")
               timeout: failed to connect service "10.244.1.5:9000" within 1s: context deadline exceeded
    exec       the command's output (stdout then stderr), or: command "sleep 5" timed out

A check that cannot be made at all (a named port the container does not declare) raises
`ProbeError`: the kubelet calls that "errored", records it, and lets the result count for nothing.

The rules: httpGet succeeds on a status from 200 to 399, follows redirects on the same host (a
redirect elsewhere ends the check as a success with a warning), sends `User-Agent: kube-probe/1.32`
and `Accept: */*` unless the probe's headers say otherwise (a `Host` header sets the virtual
host), and does not verify HTTPS certificates; tcpSocket succeeds when a connection opens; grpc
calls grpc.health.v1.Health/Check and succeeds on SERVING; exec succeeds on exit status 0. Every
check gives up after the probe's timeoutSeconds. Nothing here blocks the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import ssl
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass

import aiohttp
import grpc
import yarl
from grpc_health.v1 import health_pb2, health_pb2_grpc
from multidict import CIMultiDict

from agent.lifecycle.goformat import go_duration, go_quote
from controlplane.api.v1 import core_pb2, meta_pb2

# The kubelet says who it is with its version; kubelab follows Kubernetes 1.32's behaviour.
USER_AGENT = "kube-probe/1.32"
MAX_BODY_BYTES = 10 * 1024  # the kubelet reads at most this much of a response body
MAX_EXEC_OUTPUT_BYTES = 10 * 1024  # ... and of an exec probe's output
MAX_REDIRECTS = 10
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_GO_ATOI = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One check's outcome. `message` is the failure's text (or the body / output on success);
    `warning` marks a success the kubelet reports as a `ProbeWarning` event (a redirect elsewhere)."""

    success: bool
    message: str
    warning: bool = False


class ProbeError(Exception):
    """The check could not be made; its result must not count (the kubelet's "probe errored")."""


ExecRunner = Callable[[Sequence[str], float], Awaitable[tuple[int, bytes]]]
"""Runs a command inside the container with a timeout in seconds: (exit status, combined output).
It is cancelled when the timeout passes, and must then stop the command."""


# ---------------------------------------------------------------------------------------------- helpers


def resolve_port(port: meta_pb2.IntOrString, ports: Mapping[str, int]) -> int:
    """A probe's port: a number, or the name of one of the container's ports (ProbeError otherwise).

    As the kubelet does, a name the container does not declare is read as a number before giving up.
    """
    kind = port.WhichOneof("value")
    if kind == "str_val":
        name = port.str_val
        if name in ports:
            number = ports[name]
        elif _GO_ATOI.fullmatch(name):
            number = int(name)
        else:
            raise ProbeError(f"strconv.Atoi: parsing {go_quote(name)}: invalid syntax")
    else:
        number = port.int_val
    if 0 < number < 65536:
        return number
    raise ProbeError(f"invalid port number: {number}")


def join_host_port(host: str, port: int) -> str:
    """Go's net.JoinHostPort: IPv6 addresses in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _errno_text(error: OSError) -> str:
    """An OS error as Go prints a syscall.Errno: `connection refused`, `no route to host`."""
    if error.errno:
        text = os.strerror(error.errno)
        return text[:1].lower() + text[1:]
    return str(error)


def _tls_text(error: BaseException) -> str:
    reason = getattr(error, "reason", "") or ""
    if reason in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "PACKET_LENGTH_TOO_LONG", "HTTP_REQUEST"):
        return "http: server gave HTTP response to HTTPS client"
    return f"tls: {reason.lower().replace('_', ' ') or error}"


# ---------------------------------------------------------------------------------------------- httpGet


async def http_get(action: core_pb2.HTTPGetAction, pod_ip: str, ports: Mapping[str, int],
                   timeout: float) -> ProbeResult:
    """GET the action's URL on the pod; success for a status from 200 to 399."""
    port = resolve_port(action.port, ports)
    scheme = (action.scheme or "HTTP").lower()
    host = action.host or pod_ip
    path = action.path or "/"
    if not path.startswith("/"):
        path = "/" + path
    url = f"{scheme}://{join_host_port(host, port)}{path}"

    headers: CIMultiDict[str] = CIMultiDict()
    for header in action.http_headers:
        headers.add(header.name, header.value)
    skip: list[str] = []
    for name, default in (("User-Agent", USER_AGENT), ("Accept", "*/*")):
        if name not in headers:
            headers[name] = default
        elif headers[name] == "":
            del headers[name]  # an empty value removes the header, as the kubelet does
            skip.append(name)

    connector = aiohttp.TCPConnector(force_close=True, ssl=False)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar(),
                                     skip_auto_headers=skip, timeout=aiohttp.ClientTimeout(total=None)) as session:
        return await _http_exchange(session, url, headers, timeout)


async def _http_exchange(session: aiohttp.ClientSession, url: str, headers: CIMultiDict[str],
                         timeout: float) -> ProbeResult:
    shown = url  # the URL in Go's error messages: the request that failed
    target = yarl.URL(url)
    first_host = target.host
    reading_body = False
    status, body = 0, ""
    try:
        async with asyncio.timeout(timeout):
            for hop in range(MAX_REDIRECTS):
                async with session.get(target, headers=headers, allow_redirects=False) as response:
                    location = response.headers.get("Location")
                    if response.status in _REDIRECT_STATUSES and location:
                        following = target.join(yarl.URL(location))
                        if following.host == first_host:
                            if hop + 1 >= MAX_REDIRECTS:  # Go's client: at most 9 followed, the 10th refused
                                return ProbeResult(False, f'Get "{following}": stopped after {MAX_REDIRECTS} redirects')
                            target, shown = following, str(following)
                            continue
                    reading_body = True
                    body = await _read_body(response)
                    status = response.status
                break
    except TimeoutError:
        if reading_body:
            return ProbeResult(False, "context deadline exceeded (Client.Timeout or context cancellation while "
                                      "reading body)")
        return ProbeResult(False, f'Get "{shown}": context deadline exceeded (Client.Timeout exceeded while '
                                  "awaiting headers)")
    except aiohttp.ClientConnectorDNSError:
        return ProbeResult(False, f'Get "{shown}": dial tcp: lookup {yarl.URL(shown).host}: no such host')
    except aiohttp.ClientConnectorSSLError as error:
        return ProbeResult(False, f'Get "{shown}": {_tls_text(error.os_error)}')
    except aiohttp.ClientSSLError as error:
        return ProbeResult(False, f'Get "{shown}": {_tls_text(error)}')
    except aiohttp.ClientConnectorError as error:
        address = join_host_port(error.host, error.port or 0)
        return ProbeResult(False, f'Get "{shown}": dial tcp {address}: connect: {_errno_text(error.os_error)}')
    except aiohttp.ServerDisconnectedError:
        return ProbeResult(False, f'Get "{shown}": EOF')
    except aiohttp.ClientOSError as error:
        return ProbeResult(False, f'Get "{shown}": read: {_errno_text(error)}')
    except aiohttp.ClientResponseError:
        return ProbeResult(False, f'Get "{shown}": net/http: HTTP/1.x transport connection broken: '
                                  "malformed HTTP response")
    except (aiohttp.ClientError, ssl.SSLError) as error:
        return ProbeResult(False, f'Get "{shown}": {error}')

    if 200 <= status < 400:
        if status >= 300:
            return ProbeResult(True, f"Probe terminated redirects, Response body: {body}", warning=True)
        return ProbeResult(True, body)
    return ProbeResult(False, f"HTTP probe failed with statuscode: {status}")


async def _read_body(response: aiohttp.ClientResponse) -> str:
    data = bytearray()
    while len(data) < MAX_BODY_BYTES:
        chunk = await response.content.read(MAX_BODY_BYTES - len(data))
        if not chunk:
            break
        data += chunk
    return data.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------------------- tcpSocket


async def tcp_socket(action: core_pb2.TCPSocketAction, pod_ip: str, ports: Mapping[str, int],
                     timeout: float) -> ProbeResult:
    """Open a TCP connection to the port (on the action's host, else the pod) and close it."""
    port = resolve_port(action.port, ports)
    host = action.host or pod_ip
    address = join_host_port(host, port)
    try:
        async with asyncio.timeout(timeout):
            _, writer = await asyncio.open_connection(host, port)
    except TimeoutError:
        return ProbeResult(False, f"dial tcp {address}: i/o timeout")
    except socket.gaierror:
        return ProbeResult(False, f"dial tcp: lookup {host}: no such host")
    except OSError as error:
        return ProbeResult(False, f"dial tcp {address}: connect: {_errno_text(error)}")
    writer.close()
    with contextlib.suppress(OSError):  # the connection was made, which is all a tcpSocket probe asks
        await writer.wait_closed()
    return ProbeResult(True, "")


# ---------------------------------------------------------------------------------------------- grpc

_GO_CODES = {
    grpc.StatusCode.OK: "OK", grpc.StatusCode.CANCELLED: "Canceled", grpc.StatusCode.UNKNOWN: "Unknown",
    grpc.StatusCode.INVALID_ARGUMENT: "InvalidArgument", grpc.StatusCode.DEADLINE_EXCEEDED: "DeadlineExceeded",
    grpc.StatusCode.NOT_FOUND: "NotFound", grpc.StatusCode.ALREADY_EXISTS: "AlreadyExists",
    grpc.StatusCode.PERMISSION_DENIED: "PermissionDenied", grpc.StatusCode.RESOURCE_EXHAUSTED: "ResourceExhausted",
    grpc.StatusCode.FAILED_PRECONDITION: "FailedPrecondition", grpc.StatusCode.ABORTED: "Aborted",
    grpc.StatusCode.OUT_OF_RANGE: "OutOfRange", grpc.StatusCode.UNIMPLEMENTED: "Unimplemented",
    grpc.StatusCode.INTERNAL: "Internal", grpc.StatusCode.UNAVAILABLE: "Unavailable",
    grpc.StatusCode.DATA_LOSS: "DataLoss", grpc.StatusCode.UNAUTHENTICATED: "Unauthenticated",
}


async def grpc_health(action: core_pb2.GRPCAction, pod_ip: str, timeout: float) -> ProbeResult:
    """grpc.health.v1.Health/Check of the action's service on the pod's port; success on SERVING."""
    address = join_host_port(pod_ip, action.port)
    within = go_duration(timeout)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    channel = grpc.aio.insecure_channel(address, options=[("grpc.primary_user_agent", USER_AGENT),
                                                          ("grpc.enable_retries", 0)])
    try:
        try:
            async with asyncio.timeout(timeout):
                await channel.channel_ready()
        except TimeoutError:
            return ProbeResult(False, f"timeout: failed to connect service {go_quote(address)} within {within}: "
                                      "context deadline exceeded")
        stub = health_pb2_grpc.HealthStub(channel)
        request = health_pb2.HealthCheckRequest(service=action.service)
        try:
            response = await stub.Check(request, timeout=max(deadline - loop.time(), 0.001))
        except grpc.aio.AioRpcError as error:
            code = error.code()
            if code == grpc.StatusCode.UNIMPLEMENTED:
                return ProbeResult(False, "error: this server does not implement the grpc health protocol "
                                          f"(grpc.health.v1.Health): {error.details()}")
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                return ProbeResult(False, f"timeout: health rpc did not complete within {within}")
            return ProbeResult(False, f"error: health rpc probe failed: rpc error: code = "
                                      f"{_GO_CODES.get(code, str(code))} desc = {error.details()}")
    finally:
        await channel.close(None)
    if response.status != health_pb2.HealthCheckResponse.SERVING:
        name = health_pb2.HealthCheckResponse.ServingStatus.Name(response.status)
        return ProbeResult(False, f"service unhealthy (responded with {go_quote(name)})")
    return ProbeResult(True, "service is serving")


# ---------------------------------------------------------------------------------------------- exec


async def exec_check(command: Sequence[str], timeout: float, run: ExecRunner) -> ProbeResult:
    """Run the command in the container through `run`; success on exit status 0, message its output."""
    argv = list(command)
    try:
        async with asyncio.timeout(timeout):
            exit_code, output = await run(argv, timeout)
    except TimeoutError:
        return ProbeResult(False, f"command {go_quote(' '.join(argv))} timed out")
    except ProbeError:
        raise
    except Exception as error:  # the container is gone, the runtime refused: the check was not made
        raise ProbeError(str(error) or type(error).__name__) from error
    text = output[:MAX_EXEC_OUTPUT_BYTES].decode("utf-8", "replace")
    return ProbeResult(exit_code == 0, text)


# ---------------------------------------------------------------------------------------------- any


async def run_probe(probe: core_pb2.Probe, *, pod_ip: str, ports: Mapping[str, int],
                    run: ExecRunner | None = None) -> ProbeResult:
    """One check of whichever handler the probe has, with its timeoutSeconds.

    `ports` maps the container's port names to numbers; `run` executes an exec probe's command
    inside the container (required for exec probes).
    """
    timeout = float(probe.timeout_seconds if probe.timeout_seconds > 0 else 1)
    if probe.HasField("exec"):
        if run is None:
            raise ProbeError("exec probes need a way to run commands in the container")
        return await exec_check(probe.exec.command, timeout, run)
    if probe.HasField("http_get"):
        return await http_get(probe.http_get, pod_ip, ports, timeout)
    if probe.HasField("tcp_socket"):
        return await tcp_socket(probe.tcp_socket, pod_ip, ports, timeout)
    if probe.HasField("grpc"):
        return await grpc_health(probe.grpc, pod_ip, timeout)
    raise ProbeError("missing probe handler")
