"""Input to a container's own process, for an attach: the embedded runtime's monitor (monitor.py)
reads the FIFO `stdin` of the container's directory into the process's stdin, and obeys the FIFO
`control` (`eof`, `resize COLUMNS ROWS`). Each write opens the FIFO without waiting: a FIFO that
nobody reads (the monitor has gone with its container) is refused at once, not waited on."""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path

from agent.runtime.interface import ContainerNotRunning


def _write(path: Path, data: bytes) -> None:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as error:
        if error.errno in (errno.ENXIO, errno.ENOENT):
            raise ContainerNotRunning("the container has exited: its input is closed") from None
        raise
    try:
        os.set_blocking(fd, True)  # the monitor reads on; a full FIFO waits for it
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    except BrokenPipeError:
        raise ContainerNotRunning("the container has exited: its input is closed") from None
    finally:
        os.close(fd)


class FifoInput:
    def __init__(self, directory: Path) -> None:
        self.stdin = directory / "stdin"
        self.control = directory / "control"

    async def write(self, data: bytes) -> None:
        if data:
            await asyncio.to_thread(_write, self.stdin, data)

    async def end(self) -> None:
        """End of input: the process reads end-of-file (^D on a terminal)."""
        await asyncio.to_thread(_write, self.control, b"eof\n")

    async def resize(self, columns: int, rows: int) -> None:
        await asyncio.to_thread(_write, self.control, f"resize {columns} {rows}\n".encode())
