"""kubelab/demo's behaviour knobs, and the real app process: endpoints, boot delay, SIGTERM."""

from __future__ import annotations

import asyncio
import http.client
import os
import signal
import socket
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from agent.images.catalog import PYTHON_FLAGS
from agent.images.demo_app import Health, Settings, SettingsError, make_app
from tests.support.wait import eventually

DEMO = Path(__file__).resolve().parents[2] / "agent" / "images" / "demo_app.py"


def test_defaults_are_a_healthy_v1_on_port_3000() -> None:
    settings = Settings.from_env({})
    assert (settings.port, settings.banner, settings.boot_delay) == (3000, "kubelab demo v1", 0)
    assert settings.exit_after is None
    health = Health(settings)
    assert all(health.healthy(t) and health.ready(t) for t in (0, 10, 1000))


def test_env_vars_set_every_knob() -> None:
    settings = Settings.from_env({"PORT": "8080", "VERSION": "v2", "BOOT_DELAY": "1.5", "EXIT_AFTER": "30",
                                  "EXIT_CODE": "3", "HEALTHZ": "Never", "READYZ": "flaky", "READY_AFTER": "5",
                                  "UNHEALTHY_AFTER": "20", "FLAKY_PERIOD": "6", "FLAKY_DOWN": "2", "FLAKY_EVERY": "0"})
    assert settings == Settings(port=8080, version="v2", boot_delay=1.5, exit_after=30, exit_code=3, healthz="never",
                                readyz="flaky", ready_after=5, unhealthy_after=20, flaky_period=6, flaky_down=2)
    assert settings.banner == "kubelab demo v2"


@pytest.mark.parametrize(("env", "message"), [
    ({"PORT": "http"}, "PORT='http': not an integer"),
    ({"PORT": "70000"}, "PORT=70000: must be 1-65535"),
    ({"BOOT_DELAY": "soon"}, "BOOT_DELAY='soon': not a number of seconds"),
    ({"READY_AFTER": "-1"}, "READY_AFTER='-1': must not be negative"),
    ({"HEALTHZ": "sometimes"}, "HEALTHZ='sometimes': must be one of always, never, flaky"),
])
def test_bad_knobs_are_refused_with_the_variable_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message.replace("(", r"\(")):
        Settings.from_env(env)


def test_unhealthy_after_fails_healthz_from_then_on_only() -> None:
    health = Health(Settings(unhealthy_after=20))
    assert [health.healthy(t) for t in (0, 19.9, 20, 500)] == [True, True, False, False]
    assert all(health.ready(t) for t in (0, 20, 500))


def test_ready_after_fails_readyz_until_then() -> None:
    health = Health(Settings(ready_after=5))
    assert [health.ready(t) for t in (0, 4.9, 5, 60)] == [False, False, True, True]


def test_never_fails_always() -> None:
    health = Health(Settings(healthz="never", readyz="never"))
    assert not any(health.healthy(t) or health.ready(t) for t in (0, 1, 100))


def test_flaky_fails_during_the_last_seconds_of_each_period() -> None:
    health = Health(Settings(readyz="flaky", flaky_period=30, flaky_down=10))
    seen = {t: health.ready(t) for t in (0, 19.9, 20, 29.9, 30, 49, 50, 61)}
    assert seen == {0: True, 19.9: True, 20: False, 29.9: False, 30: True, 49: True, 50: False, 61: True}


def test_flaky_every_n_fails_every_nth_request() -> None:
    health = Health(Settings(healthz="flaky", flaky_every=3))
    assert [health.healthy(0) for _ in range(7)] == [True, True, False, True, True, False, True]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _request(url: str, method: str = "GET") -> tuple[int, str]:
    """A plain HTTP/1.1 request on a new connection (loopback only): status and body."""
    parts = urlsplit(url)
    assert parts.hostname in ("127.0.0.1", "::1")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
    try:
        connection.request(method, (parts.path or "/") + (f"?{parts.query}" if parts.query else ""))
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


async def _get(url: str, method: str = "GET") -> tuple[int, str]:
    return await asyncio.to_thread(_request, url, method)


async def _try_get(url: str) -> tuple[int, str] | None:
    try:
        return await _get(url)
    except (OSError, http.client.HTTPException):
        return None


async def test_the_endpoints_answer_get_and_head_and_only_their_answers_are_logged(
        capsys: pytest.CaptureFixture[str]) -> None:
    app = make_app(Settings(version="3", readyz="never"), time.monotonic())
    app.listen("127.0.0.1", 0)
    try:
        base = f"http://127.0.0.1:{app.addresses[0][1]}"
        status, text = await _get(base + "/?who=me")
        assert status == 200
        assert text.startswith(f"kubelab demo v3\nhostname: {socket.gethostname()}\nuptime: ")
        assert await _get(base + "/healthz", "HEAD") == (200, "")
        assert await _get(base + "/readyz") == (503, "not ready\n")
        assert await _get(base + "/nope") == (404, "404: Not Found")
        assert await _get(base + "/healthz", "POST") == (405, "405: Method Not Allowed")
    finally:
        await asyncio.to_thread(app.close)
    assert capsys.readouterr().out.splitlines() == [
        '127.0.0.1 "GET /?who=me" 200', '127.0.0.1 "HEAD /healthz" 200', '127.0.0.1 "GET /readyz" 503']


async def test_the_app_answers_its_endpoints_and_exits_0_on_sigterm() -> None:
    port = _free_port()
    env = {"PORT": str(port), "VERSION": "2", "READYZ": "never", "PATH": os.environ.get("PATH", "")}
    process = await asyncio.create_subprocess_exec(sys.executable, *PYTHON_FLAGS, str(DEMO), env=env,
                                                   stdout=asyncio.subprocess.PIPE)
    try:
        base = f"http://127.0.0.1:{port}"
        answer = await eventually(lambda: _try_get(base + "/"), timeout=10, what="the demo app to answer")
        assert answer is not None
        status, text = answer
        assert status == 200
        assert text.startswith("kubelab demo v2\nhostname: ")
        assert await _get(base + "/healthz") == (200, "ok\n")
        assert await _get(base + "/readyz") == (503, "not ready\n")
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=5) == 0
        assert time.monotonic() - started < 3
        assert process.stdout is not None
        output = (await process.stdout.read()).decode()
        assert f"kubelab demo v2 listening on :{port}" in output
        assert '"GET /readyz" 503' in output
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_sigterm_during_the_boot_delay_exits_0_at_once() -> None:
    env = {"PORT": str(_free_port()), "BOOT_DELAY": "60", "PATH": os.environ.get("PATH", "")}
    process = await asyncio.create_subprocess_exec(sys.executable, *PYTHON_FLAGS, str(DEMO), env=env,
                                                   stdout=asyncio.subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=10)
        assert b"starting" in line
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=5) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_exit_after_exits_with_exit_code() -> None:
    env = {"PORT": str(_free_port()), "EXIT_AFTER": "0.5", "EXIT_CODE": "4", "PATH": os.environ.get("PATH", "")}
    process = await asyncio.create_subprocess_exec(sys.executable, *PYTHON_FLAGS, str(DEMO), env=env,
                                                   stdout=asyncio.subprocess.DEVNULL)
    try:
        assert await asyncio.wait_for(process.wait(), timeout=10) == 4
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
