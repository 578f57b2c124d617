"""Container lifecycle hooks (postStart, preStop), run as the kubelet runs them."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import aiohttp

from agent.probes.checks import ProbeError, resolve_port
from agent.runtime.interface import Runtime
from controlplane.api.v1 import core_pb2


class HookError(Exception):
    pass


async def run_hook(handler: core_pb2.LifecycleHandler, *, runtime: Runtime, container_id: str, pod_ip: str,
                   ports: Mapping[str, int], timeout: float) -> None:
    """Run one handler; HookError with the kubelet's kind of message when it fails."""
    if handler.HasField("exec"):
        process = await runtime.exec(container_id, list(handler.exec.command), stdin=False, tty=False)
        try:
            async with asyncio.timeout(timeout):
                output, _ = await process.communicate()
        except TimeoutError:
            process.kill()
            raise HookError(f"command {list(handler.exec.command)!r} timed out") from None
        if process.returncode:
            text = output.decode(errors="replace").strip() if output else ""
            raise HookError(f"command {' '.join(handler.exec.command)!r} exited with {process.returncode}: {text}")
    elif handler.HasField("http_get"):
        action = handler.http_get
        try:
            port = resolve_port(action.port, ports)
        except ProbeError as error:
            raise HookError(str(error)) from None
        scheme = (action.scheme or "HTTP").lower()
        url = f"{scheme}://{action.host or pod_ip}:{port}{action.path or '/'}"
        headers = {h.name: h.value for h in action.http_headers}
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as session, \
                    session.get(url, headers=headers, ssl=False) as response:
                if response.status >= 400:
                    raise HookError(f"HTTP lifecycle hook ({action.path}) for Container in Pod failed with "
                                    f"statuscode: {response.status}")
        except (aiohttp.ClientError, TimeoutError) as error:
            raise HookError(f'Get "{url}": {error}') from None
    elif handler.HasField("sleep"):
        await asyncio.sleep(handler.sleep.seconds)
    # tcpSocket hooks are accepted and, as in Kubernetes, do nothing.
