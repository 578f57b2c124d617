"""`kubelab gossip` processes for tests: started on loopback with free ports, their member events
read back from their JSON logs, killed at the end."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import grpc

from controlplane.api.v1 import gossip_pb2, gossip_pb2_grpc
from tests.support.wait import eventually_sync


class GossipProcess:
    def __init__(self, name: str, log_path: Path, *args: str, host: str = "127.0.0.1") -> None:
        self.name = name
        self.log_path = log_path
        self.args = args
        self.host = host
        self.process: subprocess.Popen[bytes] | None = None
        self.address = ""  # HOST:PORT of its gossip socket
        self.listen = ""  # HOST:PORT of its Members gRPC service

    def start(self, timeout: float = 20.0) -> GossipProcess:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "controlplane.cli", "gossip", "--name", self.name,
                 "--bind", f"{self.host}:0", "--listen", f"{self.host}:0", "--log-format", "json", *self.args],
                stdout=subprocess.DEVNULL, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True)

        def started() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise AssertionError(f"kubelab gossip {self.name} exited with {self.process.returncode}:\n"
                                     f"{self.log_path.read_text()}")
            for event in self.events():
                if event["event"] == "gossip.started":
                    self.address = event["address"]
                elif event["event"] == "gossip.serving":
                    self.listen = event["listen"]
            return bool(self.address and self.listen)

        eventually_sync(started, timeout=timeout, what=f"kubelab gossip {self.name} to start")
        return self

    def events(self) -> list[dict[str, Any]]:
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                found.append(json.loads(line))
            except ValueError:
                continue
        return found

    def view(self) -> gossip_pb2.GossipView:
        with grpc.insecure_channel(self.listen) as channel:
            stub = gossip_pb2_grpc.MembersStub(channel)  # type: ignore[no-untyped-call]
            view: gossip_pb2.GossipView = stub.List(gossip_pb2.MembersRequest(), timeout=5)
            return view

    def statuses(self) -> dict[str, str]:
        return {m.name: m.status for m in self.view().members}

    def signal(self, signum: int) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signum)

    def wait(self, timeout: float = 20.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
