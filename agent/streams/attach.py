"""One attach to a container's own process (kubectl attach, kubectl run -i): its output from its
start, as it writes it (read from its log, so what it wrote before the attach shows too), and the
client's input into its stdin, until it exits; then its exit status.

With `stdinOnce` (what `kubectl run -i` sets) the container's stdin is closed when the client's
input ends or the attach goes, as the kubelet does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from agent.runtime.interface import AttachInput, ContainerNotRunning
from agent.streams.logs import read_entries
from controlplane.api.v1 import streams_pb2

Receive = Callable[[], Awaitable[Any]]  # the client's next ExecInput, None once it ended its side
Send = Callable[[streams_pb2.ExecOutput], Awaitable[None]]


class AttachSession:
    def __init__(self, log_path: Path, attach_input: AttachInput | None, *, stdin_once: bool,
                 exited: Callable[[], Awaitable[bool]], receive: Receive, send: Send,
                 interval: float = 0.05) -> None:
        self.log_path = log_path
        self.input = attach_input
        self.stdin_once = stdin_once
        self.exited = exited
        self.receive = receive
        self.send = send
        self.interval = interval
        self._input_ended = False

    async def run(self) -> None:
        """Until the container has exited and its output was sent."""
        feeding = asyncio.create_task(self._feed()) if self.input is not None else None
        try:
            await self._pump()
        finally:
            if feeding is not None:
                feeding.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feeding
            await self._end_input()

    async def _pump(self) -> None:
        entries = read_entries(self.log_path, offset=0, follow=True, exited=self.exited, interval=self.interval)
        async with contextlib.aclosing(entries):
            async for batch in entries:
                for entry in batch:
                    data = entry.content if entry.partial else entry.content + b"\n"
                    if entry.stream == "stderr":
                        await self.send(streams_pb2.ExecOutput(stderr=data))
                    else:
                        await self.send(streams_pb2.ExecOutput(stdout=data))

    async def _feed(self) -> None:
        assert self.input is not None
        while (message := await self.receive()) is not None:
            kind = message.WhichOneof("input")
            try:
                if kind == "stdin":
                    await self.input.write(message.stdin)
                elif kind == "stdin_eof":
                    await self._end_input()
                elif kind == "resize":
                    await self.input.resize(message.resize.width, message.resize.height)
            except ContainerNotRunning:
                return  # it has exited: the output side tells the rest
        await self._end_input()  # the client ended its side: no more input

    async def _end_input(self) -> None:
        if self.input is None or self._input_ended or not self.stdin_once:
            return
        self._input_ended = True
        with contextlib.suppress(ContainerNotRunning):
            await self.input.end()
