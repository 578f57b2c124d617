"""The proxy's HTTP servers: /healthz, /livez and /metrics on the healthz port, and one server per
healthCheckNodePort of the `Local` LoadBalancer services (health.py says what they answer)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import structlog
from aiohttp import web

from proxy.health import Latencies, ProxyHealth, render_metrics, service_health

log = structlog.get_logger("proxy.http")

JSON_HEADERS = {"X-Content-Type-Options": "nosniff"}


def _json(status: int, body: str) -> web.Response:
    return web.Response(status=status, text=body, content_type="application/json", headers=JSON_HEADERS)


async def _serve(handler: Callable[[web.BaseRequest], object], host: str, port: int) -> web.ServerRunner:
    runner = web.ServerRunner(web.Server(handler), access_log=None)  # type: ignore[arg-type]
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port, reuse_address=True).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


class HealthServer:
    def __init__(self, address: str, port: int, health: ProxyHealth, programming: Latencies,
                 sync: Latencies) -> None:
        self.address, self.port = address, port
        self.health, self.programming, self.sync = health, programming, sync
        self._runner: web.ServerRunner | None = None

    async def start(self) -> None:
        if self.port:
            self._runner = await _serve(self._handle, self.address, self.port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _handle(self, request: web.BaseRequest) -> web.Response:
        now = time.time()
        if request.path == "/healthz":
            return _json(*self.health.healthz(now))
        if request.path == "/livez":
            return _json(*self.health.livez(now))
        if request.path == "/metrics":
            return web.Response(text=render_metrics(self.programming, self.sync),
                                content_type="text/plain", charset="utf-8")
        return web.Response(status=404, text="404 page not found\n")


class ServiceHealthServers:
    """One listener per healthCheckNodePort, on every address (as kube-proxy does by default)."""

    def __init__(self, health: ProxyHealth, address: str = "0.0.0.0") -> None:
        self.health = health
        self.address = address
        self.ports: dict[str, int] = {}  # service key -> port
        self.local_endpoints: dict[str, int] = {}
        self._runners: dict[str, web.ServerRunner] = {}

    async def sync(self, wanted: Mapping[str, int], local_endpoints: Mapping[str, int]) -> None:
        self.local_endpoints = dict(local_endpoints)
        for key in [k for k, port in self.ports.items() if wanted.get(k) != port]:
            await self._runners.pop(key).cleanup()
            del self.ports[key]
            log.info("healthcheck.closed", service=key)
        for key, port in wanted.items():
            if key in self.ports:
                continue
            try:
                self._runners[key] = await _serve(self._handler(key), self.address, port)
            except OSError as error:
                log.warning("healthcheck.failed", service=key, port=port, error=str(error))
                continue
            self.ports[key] = port
            log.info("healthcheck.opened", service=key, port=port)

    def _handler(self, key: str) -> Callable[[web.BaseRequest], object]:
        namespace, _, name = key.partition("/")

        async def handle(request: web.BaseRequest) -> web.Response:
            return _json(*service_health(namespace, name, self.local_endpoints.get(key, 0),
                                         self.health.healthy(time.time())))

        return handle

    async def stop(self) -> None:
        for runner in self._runners.values():
            await runner.cleanup()
        self._runners.clear()
        self.ports.clear()
