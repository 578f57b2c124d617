"""A real `kubelab <daemon>` process for integration tests (the scheduler, hollow nodes, ...): started
with JSON logs to a file, ready once it logs a given event, stopped (or killed) at the end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from tests.support.wait import eventually_sync


class DaemonProcess:
    def __init__(self, daemon: str, args: list[str], log_path: Path, ready_event: str) -> None:
        self.daemon = daemon
        self.args = args
        self.log_path = log_path
        self.ready_event = ready_event
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60.0) -> DaemonProcess:
        assert self.process is None, "already running"
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "controlplane.cli", self.daemon, *self.args, "--log-format", "json"],
                stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        eventually_sync(self._ready, timeout=timeout, what=f"kubelab {self.daemon} to log {self.ready_event}")
        return self

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"kubelab {self.daemon} exited with {self.process.returncode}:\n{self.log_tail()}")
        return any(event.get("event") == self.ready_event for event in self.events())

    def events(self, name: str | None = None) -> Iterator[dict[str, Any]]:
        if not self.log_path.exists():
            return
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                event = json.loads(line)
            except ValueError:
                continue
            if name is None or event.get("event") == name:
                yield event

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> int:
        return self._end(signal.SIGTERM)

    def kill(self) -> int:
        return self._end(signal.SIGKILL)

    def _end(self, signum: int) -> int:
        process, self.process = self.process, None
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(signum)
        return process.wait(timeout=20)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid


def scheduler(address: str, directory: Path, *args: str) -> DaemonProcess:
    return DaemonProcess("scheduler", ["--server", address, *args], directory / "scheduler.log", "scheduler.serving")


def hollow_nodes(address: str, directory: Path, count: int, *args: str, name: str = "hollow") -> DaemonProcess:
    return DaemonProcess("hollow-nodes", ["--server", address, "--count", str(count), *args],
                         directory / f"{name}.log", "hollow.serving")
