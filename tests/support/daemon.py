"""kubelab daemons as real processes for tests and benchmarks: `kubelab <daemon>` started with its
flags (and env), JSON logs appended to a file, ready once the current run logs the event that says it
serves, stopped with SIGTERM (or killed) at the end, whatever happens.

    with control_plane(tmp_path, apiserver_args=["--event-ttl", "2"],
                       manager_args=["--controllers", "garbagecollector"]) as (server, manager):
        ...
    sched = scheduler(server.address, tmp_path, "--pod-max-backoff", "1").start()

(`control_plane` is not in a module named `controlplane.py`: a script run from tests/support/ would
import it in place of the `controlplane` package.)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Self, TypeVar

from controlplane.client import ApiClient, ClientConfig, connect
from tests.support.wait import eventually_sync


def log_events(lines: Iterable[str | bytes], name: str | None = None) -> list[dict[str, Any]]:
    """The JSON log events among `lines` (only those called `name`, given one); other lines skipped."""
    found = []
    for line in lines:
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if isinstance(event, dict) and (name is None or event.get("event") == name):
            found.append(event)
    return found


class DaemonProcess:
    def __init__(self, daemon: str, args: Sequence[str], log_path: Path, ready_event: str, *,
                 env: dict[str, str] | None = None, new_session: bool = False) -> None:
        self.daemon = daemon
        self.args = list(args)
        self.log_path = log_path
        self.ready_event = ready_event
        self.env = env or {}
        self.new_session = new_session
        self.process: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, Any] = {}  # the ready event of the current run, with its fields
        self._log_offset = 0  # where the current run's log starts: a restart appends to the same file

    def start(self, timeout: float = 60.0) -> Self:
        """Start and wait for the ready event; a daemon that exits or never gets ready is killed
        and its log tail raised."""
        assert self.process is None, "already running"
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "controlplane.cli", self.daemon, *self.command_args(), "--log-format", "json"],
                stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env},
                start_new_session=self.new_session)
        try:
            self.ready = eventually_sync(self._ready_event, timeout=timeout,
                                         what=f"kubelab {self.daemon} to log {self.ready_event}")
        except BaseException:
            self.kill()
            raise
        return self

    def command_args(self) -> list[str]:
        """The daemon's flags for the next start."""
        return self.args

    def _ready_event(self) -> dict[str, Any] | None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"kubelab {self.daemon} exited with {self.process.returncode}:\n{self.log_tail()}")
        return next(iter(self.events(self.ready_event)), None)

    def events(self, name: str | None = None) -> list[dict[str, Any]]:
        """The JSON log events of the current run (only those called `name`, given one)."""
        if not self.log_path.exists():
            return []
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            return log_events(log, name)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    @property
    def pid(self) -> int:
        assert self.process is not None, "not running"
        return self.process.pid

    def signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def wait(self, timeout: float = 20) -> int:
        """The exit status, once it has exited by itself (or by `signal`)."""
        assert self.process is not None, "not running"
        return self.process.wait(timeout)

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM and wait: a clean shutdown; the exit status."""
        return self._end(signal.SIGTERM, timeout)

    def kill(self) -> int:
        """SIGKILL: a crash."""
        return self._end(signal.SIGKILL, 20)

    def _end(self, signum: int, timeout: float) -> int:
        process, self.process = self.process, None
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(signum)
        try:
            return process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            raise


class ApiServerProcess(DaemonProcess):
    """`kubelab apiserver` on a free loopback port, kept across restarts (the store in `data_dir`)."""

    def __init__(self, data_dir: Path, log_path: Path, *extra_args: str) -> None:
        super().__init__("apiserver", extra_args, log_path, "apiserver.serving")
        self.data_dir = data_dir
        self.port = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def command_args(self) -> list[str]:
        return ["--listen", self.address, "--data-dir", str(self.data_dir), *self.args]

    def start(self, timeout: float = 60.0) -> Self:
        super().start(timeout)
        self.port = int(str(self.ready["address"]).rpartition(":")[2])
        return self

    def client(self, timeout: float = 10.0) -> ApiClient:
        return connect(ClientConfig(server=self.address), timeout=timeout)


Daemon = TypeVar("Daemon", bound=DaemonProcess)


@contextmanager
def running(daemon: Daemon) -> Iterator[Daemon]:
    """Started, and killed on the way out."""
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.kill()


def apiserver(directory: Path, *args: str) -> ApiServerProcess:
    """An API server whose store is `directory/data`; not started."""
    return ApiServerProcess(directory / "data", directory / "apiserver.log", *args)


def controller_manager(server: str, log_path: Path, *args: str, env: dict[str, str] | None = None) -> DaemonProcess:
    return DaemonProcess("controller-manager", ["--server", server, *args], log_path, "controller-manager.serving",
                         env=env)


def scheduler(server: str, directory: Path, *args: str) -> DaemonProcess:
    return DaemonProcess("scheduler", ["--server", server, *args], directory / "scheduler.log", "scheduler.serving")


def hollow_nodes(server: str, directory: Path, count: int, *args: str, name: str = "hollow") -> DaemonProcess:
    return DaemonProcess("hollow-nodes", ["--server", server, "--count", str(count), *args],
                         directory / f"{name}.log", "hollow.serving")


def dns(server: str, log_path: Path, *args: str) -> DaemonProcess:
    """`kubelab dns` on 127.0.0.1 and a free port (its ready event's `port`)."""
    return DaemonProcess("dns", ["--server", server, "--node-ip", "127.0.0.1", "--port", "0", *args], log_path,
                         "dns.serving")


@contextmanager
def control_plane(workdir: Path, *, apiserver_args: Sequence[str] = (),
                  manager_args: Sequence[str] = ()) -> Iterator[tuple[ApiServerProcess, DaemonProcess]]:
    """A fresh API server and a controller manager talking to it; both killed on the way out."""
    with running(apiserver(workdir, *apiserver_args)) as server, \
            running(controller_manager(server.address, workdir / "controller-manager.log", *manager_args)) as manager:
        yield server, manager
