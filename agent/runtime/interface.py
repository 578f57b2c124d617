"""What the node agent needs from a container runtime. The agent core codes against these names only.

A container is one process tree started from a `ContainerConfig` in a pod's network namespace. The
runtime keeps what it knows on disk, so a new runtime object (an agent that restarted, or was
killed) finds the containers that are still running with `list()` and learns how they end with
`wait()`. Kubernetes' words are used where a user sees them: `ErrImagePull`, `OOMKilled`,
`Completed`, `Error`.
"""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Literal, Protocol


class ImagePullError(Exception):
    """The runtime cannot provide the image; the container stays Waiting with this reason and message.

    `reason` is "ErrImagePull" (well-formed name, not available) or "InvalidImageName" (unparseable).
    """

    def __init__(self, reason: Literal["ErrImagePull", "InvalidImageName"], message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ContainerNotFound(LookupError):
    """No container with that id exists in this runtime's state directory."""

    def __init__(self, container_id: str) -> None:
        super().__init__(f'container "{container_id}" not found')
        self.container_id = container_id


class ContainerNotRunning(RuntimeError):
    """The operation needs a running container (exec) or an exited one (remove)."""


@dataclass(frozen=True)
class Mount:
    source: Path  # on the host
    target: str  # absolute path inside the container
    read_only: bool = False


@dataclass(frozen=True)
class ContainerConfig:
    pod_uid: str
    pod_namespace: str
    pod_name: str
    name: str  # the container's name in the pod spec
    attempt: int  # 0 for the first run, +1 for each restart (the restartCount)
    image: str
    # As the pod spec gives them; empty = the image's default. Kubernetes' rules: command replaces
    # the image's ENTRYPOINT (and drops its CMD), args replace CMD. $(VAR) is already expanded.
    command: tuple[str, ...]
    args: tuple[str, ...]
    env: tuple[tuple[str, str], ...]  # over the image's env (PATH...); a later duplicate wins
    working_dir: str  # "" = the image's
    mounts: tuple[Mount, ...]
    netns_path: Path  # the pod's network namespace (/run/netns/NAME), made by the pod sandbox
    hostname: str
    etc_hosts: Path  # bind-mounted at /etc/hosts
    resolv_conf: Path  # bind-mounted at /etc/resolv.conf
    memory_limit: int | None = None  # bytes
    cpu_limit_millicores: int | None = None
    cpu_request_millicores: int | None = None
    stdin: bool = False  # keep stdin open (it never sees EOF); False = /dev/null
    stdin_once: bool = False  # the kubelet's business: an attach ends the stdin (agent/streams/attach.py)
    tty: bool = False  # the process gets a terminal; its output is logged as stdout


@dataclass(frozen=True)
class ContainerStatus:
    id: str
    pod_uid: str
    name: str
    attempt: int
    image: str
    state: Literal["running", "exited"]
    pid: int  # on the host; 0 if the process never started
    started_at: datetime  # UTC; for a container that never started, when the start was attempted
    finished_at: datetime | None
    exit_code: int | None  # 128+N when killed by signal N, as Kubernetes shows
    signal: int | None
    # "" while running; "Completed" (exit 0), "Error", "OOMKilled"; "StartError" (exit 128) when the
    # process could not be started; "ContainerStatusUnknown" (137) when its end was not observed
    # (its monitor was killed, or the machine rebooted).
    reason: str
    message: str


class Runtime(Protocol):
    async def ensure_image(self, image: str) -> None:
        """Make `image` available; ImagePullError when it cannot be."""
        ...

    async def start(self, config: ContainerConfig) -> ContainerStatus:
        """Create and start a container. ImagePullError for an unknown image. A process that cannot be
        started (no such executable, a mount that fails) gives an exited status with reason StartError.
        Exited attempts of the same container older than `attempt - 1` are removed with their logs (the
        kubelet's container garbage collection): `list()` keeps the current and the previous attempt."""
        ...

    async def wait(self, container_id: str) -> ContainerStatus:
        """Return once the container has exited; works for containers started by an earlier agent."""
        ...

    async def stop(self, container_id: str, grace_seconds: float) -> ContainerStatus:
        """SIGTERM, wait up to `grace_seconds`, then SIGKILL; the exited status."""
        ...

    async def status(self, container_id: str) -> ContainerStatus: ...

    async def list(self, pod_uid: str | None = None) -> builtins.list[ContainerStatus]:
        """The containers on disk (running or exited, not removed), oldest first."""
        ...

    async def remove(self, container_id: str) -> None:
        """After exit: its writable layer, mounts and cgroup go; its log stays until remove_pod."""
        ...

    async def remove_pod(self, pod_uid: str) -> None:
        """Everything of that pod, logs included; kills containers still running."""
        ...

    def log_path(self, container_id: str) -> Path:
        """The container's log file, in the CRI format `2026-11-21T13:05:00.123456789Z stdout F text`."""
        ...

    async def exec(self, container_id: str, command: Sequence[str], *, stdin: bool,
                   tty: bool) -> asyncio.subprocess.Process:
        """Run `command` inside the container's namespaces, root and cgroup, with its env.

        stdout and stderr are pipes (one stream, a terminal's output, when `tty`); stdin is a pipe when
        `stdin`, else /dev/null. The process's return code is the command's exit code.
        """
        ...

    async def attach_input(self, container_id: str) -> AttachInput | None:
        """The way into the stdin of the container's own process (an attach); None for a container
        started without stdin. ContainerNotRunning when it is not running. Its output is its log."""
        ...


class AttachInput(Protocol):
    async def write(self, data: bytes) -> None: ...

    async def end(self) -> None:
        """End of input: the process reads end-of-file."""
        ...

    async def resize(self, columns: int, rows: int) -> None: ...
