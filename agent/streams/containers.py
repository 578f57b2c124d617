"""What the streams need of the container runtime, and which container instance a request means.

`StreamRuntime` is the part of agent/runtime/interface.py's `Runtime` that logs, exec, attach and
port-forward use; any runtime with these methods (the embedded one, containerd's, a test's) serves.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from agent.runtime.interface import AttachInput, Runtime


class ContainerView(Protocol):
    """One instance (attempt) of a container, as the runtime lists it."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def attempt(self) -> int: ...

    @property
    def state(self) -> str: ...  # "running" or "exited" (a runtime may have others, e.g. "created")

    @property
    def exit_code(self) -> int | None: ...  # once exited


class StreamRuntime(Protocol):
    async def list(self, pod_uid: str | None = None) -> Sequence[ContainerView]: ...

    def log_path(self, container_id: str) -> Path: ...

    async def exec(self, container_id: str, command: Sequence[str], *, stdin: bool,
                   tty: bool) -> asyncio.subprocess.Process: ...

    async def attach_input(self, container_id: str) -> AttachInput | None: ...


def current_and_previous(instances: Sequence[ContainerView], name: str,
                         ) -> tuple[ContainerView | None, ContainerView | None]:
    """The newest instance of container `name` and the one before it (each None when absent)."""
    mine = sorted((c for c in instances if c.name == name), key=lambda c: c.attempt)
    current = mine[-1] if mine else None
    previous = mine[-2] if len(mine) > 1 else None
    return current, previous


if TYPE_CHECKING:
    def _every_runtime_serves_streams(runtime: Runtime) -> StreamRuntime:
        return runtime  # mypy fails here if the runtime interface drifts from what the streams use
