"""A real `kubelab controller-manager` process for tests, against a test API server: started, and
stopped with SIGTERM or killed with SIGKILL (a crash) whenever the test says."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from tests.support.wait import eventually_sync


class ControllerManagerProcess:
    def __init__(self, server: str, log_path: Path, *extra_args: str, env: dict[str, str] | None = None) -> None:
        self.server = server
        self.log_path = log_path
        self.extra_args = extra_args
        self.env = env or {}
        self.process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    def start(self, timeout: float = 30.0) -> None:
        assert self.process is None, "already running"
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "controlplane.cli", "controller-manager", "--server", self.server,
                 "--log-format", "json", *self.extra_args],
                stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1", **self.env})
        eventually_sync(self._serving, timeout=timeout, what="the controller manager to serve")

    def _serving(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the controller manager exited with {self.process.returncode}:\n{self.log_tail()}")
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            for line in log:
                try:
                    if json.loads(line).get("event") == "controller-manager.serving":
                        return True
                except ValueError:
                    continue
        return False

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_path.exists():
            return ""
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
