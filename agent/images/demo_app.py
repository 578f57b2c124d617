"""kubelab/demo: the web app of the tutorials, whose health is set by env vars. Runs as a script.

Endpoints on $PORT (default 3000):
  /         text page: version banner and the pod's hostname
  /healthz  200 "ok" or 500, per HEALTHZ and UNHEALTHY_AFTER      (liveness, startup probes)
  /readyz   200 "ready" or 503, per READYZ and READY_AFTER         (readiness probes)

Env vars (times in seconds since the process started; a tag of the image presets some, see catalog.py):
  VERSION          banner text, "kubelab demo v<VERSION>" (default 1)
  BOOT_DELAY       wait this long before listening: probes see "connection refused" meanwhile
  EXIT_AFTER       exit after this long with EXIT_CODE (default 1): a crashing app
  HEALTHZ, READYZ  always (default) | never | flaky
  READY_AFTER      /readyz fails before this
  UNHEALTHY_AFTER  /healthz fails from this on
  flaky rule       fails during the last FLAKY_DOWN (10) seconds of every FLAKY_PERIOD (30) seconds
                   since start (so seconds 20-30, 50-60...); with FLAKY_EVERY=N > 0 it fails every
                   N-th request of that endpoint instead (the N-th, 2N-th...).
GET and HEAD are answered (405 for another method, 404 for another path); each answer of an endpoint is
logged on stdout as `<client address> "<METHOD> <path?query>" <status>`.
SIGTERM and SIGINT make it exit 0 at once, during the boot delay too. Only the standard library is used,
with tinyhttp.py beside this file: the script runs with `python -I -S`, outside kubelab's packages, and
starts like a compiled app would.
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Literal, NamedTuple

if __package__ or TYPE_CHECKING:  # imported as agent.images.demo_app (tests), or read by mypy
    from agent.images import tinyhttp
else:  # a script under `python -I -S`: its directory is not on sys.path, and kubelab's packages are not used
    sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
    import tinyhttp

import signal
import socket
import threading
import time
from collections.abc import Callable, Mapping

Mode = Literal["always", "never", "flaky"]
MODES: tuple[Mode, ...] = ("always", "never", "flaky")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


class SettingsError(ValueError):
    pass


class Settings(NamedTuple):
    port: int = 3000
    version: str = "1"
    boot_delay: float = 0.0
    exit_after: float | None = None
    exit_code: int = 1
    healthz: Mode = "always"
    readyz: Mode = "always"
    ready_after: float = 0.0
    unhealthy_after: float | None = None
    flaky_period: float = 30.0
    flaky_down: float = 10.0
    flaky_every: int = 0

    @property
    def banner(self) -> str:
        return f"kubelab demo {self.version if self.version.startswith('v') else 'v' + self.version}"

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Settings:
        def number(name: str, default: float | None) -> float | None:
            text = env.get(name, "").strip()
            if not text:
                return default
            try:
                value = float(text)
            except ValueError:
                raise SettingsError(f"{name}={text!r}: not a number of seconds") from None
            if value < 0:
                raise SettingsError(f"{name}={text!r}: must not be negative")
            return value

        def mode(name: str) -> Mode:
            text = env.get(name, "always").strip().lower() or "always"
            for candidate in MODES:
                if text == candidate:
                    return candidate
            raise SettingsError(f"{name}={text!r}: must be one of always, never, flaky")

        def integer(name: str, default: int) -> int:
            text = env.get(name, "").strip()
            try:
                return int(text) if text else default
            except ValueError:
                raise SettingsError(f"{name}={text!r}: not an integer") from None

        port = integer("PORT", 3000)
        if not 1 <= port <= 65535:
            raise SettingsError(f"PORT={port}: must be 1-65535")
        return cls(
            port=port,
            version=env.get("VERSION", "1") or "1",
            boot_delay=number("BOOT_DELAY", 0.0) or 0.0,
            exit_after=number("EXIT_AFTER", None),
            exit_code=integer("EXIT_CODE", 1),
            healthz=mode("HEALTHZ"),
            readyz=mode("READYZ"),
            ready_after=number("READY_AFTER", 0.0) or 0.0,
            unhealthy_after=number("UNHEALTHY_AFTER", None),
            flaky_period=number("FLAKY_PERIOD", 30.0) or 30.0,
            flaky_down=number("FLAKY_DOWN", 10.0) or 0.0,
            flaky_every=integer("FLAKY_EVERY", 0),
        )


class Health:
    """Whether /healthz and /readyz pass. Pure: the caller passes seconds since start."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._requests = {"healthz": 0, "readyz": 0}

    def healthy(self, uptime: float) -> bool:
        s = self.settings
        if s.unhealthy_after is not None and uptime >= s.unhealthy_after:
            return False
        return self._mode_passes("healthz", s.healthz, uptime)

    def ready(self, uptime: float) -> bool:
        s = self.settings
        if uptime < s.ready_after:
            return False
        return self._mode_passes("readyz", s.readyz, uptime)

    def _mode_passes(self, endpoint: str, mode: Mode, uptime: float) -> bool:
        self._requests[endpoint] += 1
        if mode == "always":
            return True
        if mode == "never":
            return False
        s = self.settings
        if s.flaky_every > 0:
            return self._requests[endpoint] % s.flaky_every != 0
        return uptime % s.flaky_period < s.flaky_period - s.flaky_down


def make_app(settings: Settings, started: float) -> tinyhttp.Server:
    health = Health(settings)
    hostname = socket.gethostname()

    def uptime() -> float:
        return time.monotonic() - started

    def index(request: tinyhttp.Request) -> tinyhttp.Response:
        text = (f"{settings.banner}\n"
                f"hostname: {hostname}\n"
                f"uptime: {uptime():.0f}s\n")
        return tinyhttp.text(text)

    def healthz(request: tinyhttp.Request) -> tinyhttp.Response:
        if health.healthy(uptime()):
            return tinyhttp.text("ok\n")
        return tinyhttp.text("unhealthy\n", 500)

    def readyz(request: tinyhttp.Request) -> tinyhttp.Response:
        if health.ready(uptime()):
            return tinyhttp.text("ready\n")
        return tinyhttp.text("not ready\n", 503)

    routes: dict[str, Callable[[tinyhttp.Request], tinyhttp.Response]] = {
        "/": index, "/healthz": healthz, "/readyz": readyz}

    def route(request: tinyhttp.Request) -> tinyhttp.Response:
        """404 and 405 are not logged: only the endpoints' answers are."""
        endpoint = routes.get(request.path)
        if endpoint is None:
            return tinyhttp.text("404: Not Found", 404)
        if request.method not in ("GET", "HEAD"):
            return tinyhttp.text("405: Method Not Allowed", 405, headers={"Allow": "GET,HEAD"})
        with lock:  # Health counts requests: one at a time
            response = endpoint(request)
        tinyhttp.say(f'{request.remote} "{request.method} {request.path_qs}" {response.status}')
        return response

    lock = threading.Lock()
    return tinyhttp.Server(route)


def serve(settings: Settings) -> int:
    """Run the app until SIGTERM or SIGINT (exit 0) or EXIT_AFTER (EXIT_CODE), in the main thread."""
    started = time.monotonic()
    tinyhttp.hold_signals(STOP_SIGNALS)  # before the server's threads start: they inherit it
    tinyhttp.say(f"{settings.banner} starting (pid {os.getpid()})")
    if settings.boot_delay > 0:
        tinyhttp.say(f"booting: listening in {settings.boot_delay:g}s")
        if tinyhttp.wait_signal(STOP_SIGNALS, settings.boot_delay) is not None:
            tinyhttp.say("stopping on signal while booting")
            return 0
    app = make_app(settings, started)
    app.listen(None, settings.port)  # every address, IPv4 and IPv6
    tinyhttp.say(f"{settings.banner} listening on :{settings.port}")
    code = 0
    try:
        if settings.exit_after is not None:
            remaining = settings.exit_after - (time.monotonic() - started)
            if tinyhttp.wait_signal(STOP_SIGNALS, max(0.0, remaining)) is None:
                tinyhttp.say(f"exiting with code {settings.exit_code} after {settings.exit_after:g}s (EXIT_AFTER)")
                code = settings.exit_code
            else:
                tinyhttp.say("stopping on signal")
        else:
            tinyhttp.wait_signal(STOP_SIGNALS, None)
            tinyhttp.say("stopping on signal")
    finally:
        app.close(grace=1)  # requests in progress may finish; idle keep-alive connections close
    return code


def main() -> int:
    try:
        settings = Settings.from_env(os.environ)
    except SettingsError as error:
        print(f"kubelab demo: {error}", file=sys.stderr, flush=True)
        return 2
    return serve(settings)


if __name__ == "__main__":
    sys.exit(main())
