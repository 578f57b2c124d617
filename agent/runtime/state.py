"""What the embedded runtime keeps on disk, and how a container's status is read from it.

    STATE_DIR/containers/ID/config.json   written once by the agent before the start: what it is
                            init.marshal  what nsinit.py and enter.py need (argv, env, mount plan...),
                                          in marshal format: read with no import by the same Python
                            state.json    written by the container's monitor (atomically, by rename)
                            upper/ work/ rootfs/   the copy-on-write layer and its mount point
                            hostname  monitor.log  stdin (a FIFO, with `stdin: true`)
                            removed       present once remove() ran: only config/state stay, for logs
    STATE_DIR/logs/NAMESPACE_POD_UID/CONTAINER/ATTEMPT.log   CRI log lines, kept until remove_pod
    STATE_DIR/images/KEY-DIGEST/   directories shared by an image's containers (busybox's applets)

state.json's fields (all optional but `status`): status ("running" | "exited"), monitor_pid,
monitor_start (its start time in clock ticks since boot, from /proc/PID/stat, to tell a reused pid),
boot_id, pid, pid_start, started_at_ns, finished_at_ns, exit_code, signal, oom_killed,
start_error (why the process could not be started), lost (why its end was not observed).
"""

from __future__ import annotations

import json
import marshal
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from agent.runtime.interface import ContainerStatus

START_ERROR_EXIT_CODE = 128  # what containerd reports for a process that could not be started
LOST_EXIT_CODE = 137  # the kubelet's ContainerStatusUnknown


class Layout:
    def __init__(self, state_dir: Path) -> None:
        self.root = state_dir
        self.containers = state_dir / "containers"
        self.logs = state_dir / "logs"
        self.images = state_dir / "images"  # the catalog images' shared directories

    def container(self, container_id: str) -> Path:
        return self.containers / container_id

    def config(self, container_id: str) -> Path:
        return self.containers / container_id / "config.json"

    def state(self, container_id: str) -> Path:
        return self.containers / container_id / "state.json"

    def removed_marker(self, container_id: str) -> Path:
        return self.containers / container_id / "removed"

    def pod_logs(self, pod_namespace: str, pod_name: str, pod_uid: str) -> Path:
        return self.logs / f"{pod_namespace}_{pod_name}_{pod_uid}"

    def log_file(self, pod_namespace: str, pod_name: str, pod_uid: str, container: str, attempt: int) -> Path:
        return self.pod_logs(pod_namespace, pod_name, pod_uid) / container / f"{attempt}.log"


def write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True))
    os.replace(tmp, path)


INIT_SPEC = "init.marshal"


def write_init_spec(path: Path, spec: dict[str, Any]) -> None:
    """The container's start spec, readable only by root (its env may hold secrets)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "wb") as f:
        marshal.dump(spec, f)


def read_json(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict):
        raise ValueError(f"{path}: not a JSON object")
    return data


def ns_to_datetime(ns: int) -> datetime:
    return datetime.fromtimestamp(ns / 1e9, tz=UTC)


@dataclass(frozen=True, slots=True)
class Record:
    """A container as found on disk."""

    id: str
    config: dict[str, Any]
    state: dict[str, Any]
    removed: bool = False

    @property
    def pod_uid(self) -> str:
        return str(self.config["pod_uid"])

    @property
    def running(self) -> bool:
        """Running, or being created ("creating", or no state yet): anything not known to have exited."""
        return self.state.get("status") != "exited"

    @property
    def created_at_ns(self) -> int:
        return int(self.config.get("created_at_ns", 0))


def status_of(record: Record) -> ContainerStatus:
    """The interface's status from the on-disk record (pure)."""
    config, state = record.config, record.state
    running = record.running
    started_ns = state.get("started_at_ns") or record.created_at_ns
    finished_ns = state.get("finished_at_ns")
    exit_code = state.get("exit_code")
    signal = state.get("signal")
    reason, message = "", ""
    if not running:
        if state.get("start_error"):
            reason, message = "StartError", str(state["start_error"])
            exit_code = START_ERROR_EXIT_CODE if exit_code is None else exit_code
        elif state.get("lost"):
            reason, message = "ContainerStatusUnknown", str(state["lost"])
            exit_code = LOST_EXIT_CODE if exit_code is None else exit_code
        elif state.get("oom_killed"):
            reason = "OOMKilled"
        elif exit_code == 0:
            reason = "Completed"
        else:
            reason = "Error"
    return ContainerStatus(
        id=record.id,
        pod_uid=str(config["pod_uid"]),
        name=str(config["name"]),
        attempt=int(config["attempt"]),
        image=str(config["image"]),
        state="running" if running else "exited",
        pid=int(state.get("pid") or 0),
        started_at=ns_to_datetime(int(started_ns)),
        finished_at=ns_to_datetime(int(finished_ns)) if finished_ns else (
            None if running else ns_to_datetime(int(started_ns))),
        exit_code=None if running else (int(exit_code) if exit_code is not None else None),
        signal=None if running or not signal else int(signal),
        reason=reason,
        message=message,
    )
