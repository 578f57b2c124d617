"""A real `kubelab controller-manager` process beside a real API server, for integration tests:
started with the test's flags, killed at the end whatever happens. (Not named `controlplane.py`:
a script run from tests/support/ would import it in place of the `controlplane` package.)

    with control_plane(tmp_path, apiserver_args=["--event-ttl", "2"],
                       manager_args=["--controllers", "garbagecollector"]) as (apiserver, manager):
        ...
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.support.apiserver import ApiServerProcess
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
        return any(event.get("event") == "controller-manager.serving" for event in self.log_events())

    def log_events(self) -> list[dict[str, object]]:
        """The JSON log events of the current run."""
        events = []
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset)
            for line in log:
                try:
                    events.append(json.loads(line))
                except ValueError:
                    continue
        return events

    def log_tail(self, lines: int = 30) -> str:
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


@contextmanager
def control_plane(workdir: Path, *, apiserver_args: Sequence[str] = (),
                  manager_args: Sequence[str] = ()) -> Iterator[tuple[ApiServerProcess, ControllerManagerProcess]]:
    """A fresh API server and a controller manager talking to it; both killed on the way out."""
    apiserver = ApiServerProcess(workdir / "data", workdir / "apiserver.log", *apiserver_args)
    apiserver.start()
    manager = ControllerManagerProcess(apiserver.address, workdir / "controller-manager.log", *manager_args)
    try:
        manager.start()
        yield apiserver, manager
    finally:
        manager.kill()
        apiserver.kill()
