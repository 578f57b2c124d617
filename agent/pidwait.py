"""Waiting for processes by pidfd on the event loop, and reaping the ones that are our children.

Light on purpose (asyncio and os only): the container runtime and the agent's short commands
(agent/spawn.py, which the proxy loads too) both wait this way.
"""

from __future__ import annotations

import asyncio
import contextlib
import os


def reap(pidfd: int) -> None:
    """Collect the process's exit status if it is our child (else it is not ours to reap)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitid(os.P_PIDFD, pidfd, os.WEXITED | os.WNOHANG)


def exit_future(pidfd: int) -> asyncio.Future[None]:
    """A future done once the process has exited (whoever gives up on it first removes the reader)."""
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[None] = loop.create_future()

    def readable() -> None:
        loop.remove_reader(pidfd)
        if not exited.done():
            exited.set_result(None)

    loop.add_reader(pidfd, readable)
    return exited


async def wait_exit(pidfd: int) -> None:
    """Return once the process has exited. The caller keeps owning (and closes) the pidfd."""
    try:
        await exit_future(pidfd)
    finally:
        asyncio.get_running_loop().remove_reader(pidfd)


def reap_when_exited(pidfd: int) -> None:
    """Reap the process once it exits, without a task: a reader on `pidfd` does it, then closes
    `pidfd` (which it takes over)."""
    loop = asyncio.get_running_loop()

    def exited() -> None:
        loop.remove_reader(pidfd)
        reap(pidfd)
        os.close(pidfd)

    loop.add_reader(pidfd, exited)


def watch_child(pid: int) -> None:
    """Reap our child `pid` when it exits (nothing to do when it is already gone)."""
    try:
        pidfd = os.pidfd_open(pid)
    except OSError:
        return
    reap_when_exited(pidfd)
