"""A real `kubelab apiserver` process for tests: started on a free loopback port, killed at the end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from controlplane.client import ApiClient, ClientConfig, connect
from tests.support.wait import eventually_sync


class ApiServerProcess:
    def __init__(self, data_dir: Path, log_path: Path, *extra_args: str) -> None:
        self.data_dir = data_dir
        self.log_path = log_path
        self.extra_args = extra_args
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        assert self.process is None, "already running"
        with self.log_path.open("ab") as log:
            self._log_offset = log.tell()
            self.process = subprocess.Popen(
                [sys.executable, "-m", "controlplane.cli", "apiserver", "--listen", f"127.0.0.1:{self.port}",
                 "--data-dir", str(self.data_dir), "--log-format", "json", *self.extra_args],
                stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"})
        address = eventually_sync(self._serving_address, timeout=timeout, what="the API server to serve")
        self.port = int(address.rpartition(":")[2])

    def _serving_address(self) -> str | None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the API server exited with {self.process.returncode}:\n{self.log_tail()}")
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            for line in log:
                try:
                    event = json.loads(line)
                except ValueError:
                    continue
                if event.get("event") == "apiserver.serving":
                    return str(event["address"])
        return None

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> int:
        """SIGTERM and wait: a clean shutdown."""
        return self._end(signal.SIGTERM)

    def kill(self) -> int:
        """SIGKILL: a crash."""
        return self._end(signal.SIGKILL)

    def _end(self, signum: int) -> int:
        process, self.process = self.process, None
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(signum)
        return process.wait(timeout=20)

    def client(self, timeout: float = 10.0) -> ApiClient:
        return connect(ClientConfig(server=self.address), timeout=timeout)
