"""A kubelab daemon other than the API server (`kubelab controller-manager`, `kubelab dns` ...) as a
real process for integration tests: started with its flags, ready once its log shows the event
that says it serves, stopped with SIGTERM (or killed) at the end, whatever happens."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.support.wait import eventually_sync


class DaemonProcess:
    def __init__(self, daemon: str, args: Sequence[str], log_path: Path, ready_event: str,
                 env: dict[str, str] | None = None) -> None:
        self.daemon = daemon
        self.args = list(args)
        self.log_path = log_path
        self.ready_event = ready_event
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self.ready: dict[str, Any] = {}

    def start(self, timeout: float = 30.0) -> DaemonProcess:
        assert self.process is None, "already running"
        with self.log_path.open("ab") as log:
            offset = log.tell()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "controlplane.cli", self.daemon, *self.args, "--log-format", "json"],
                stdout=subprocess.DEVNULL, stderr=log,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env})
        self.ready = eventually_sync(lambda: self._event(offset), timeout=timeout,
                                     what=f"kubelab {self.daemon} to log {self.ready_event}")
        return self

    def _event(self, offset: int) -> dict[str, Any] | None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"kubelab {self.daemon} exited with {self.process.returncode}:\n{self.log_tail()}")
        with self.log_path.open("rb") as log:
            log.seek(offset)
            for line in log:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("event") == self.ready_event:
                    return dict(event)
        return None

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM and wait: a clean shutdown; the exit status."""
        return self._end(signal.SIGTERM, timeout)

    def kill(self) -> int:
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


@contextmanager
def running(daemon: DaemonProcess) -> Iterator[DaemonProcess]:
    daemon.start()
    try:
        yield daemon
    finally:
        daemon.kill()


def controller_manager(server: str, log_path: Path, *extra: str) -> DaemonProcess:
    return DaemonProcess("controller-manager", ["--server", server, *extra], log_path,
                         "controller-manager.serving")
