"""One `kubectl exec`: the command's output to the stream, the stream's input to the command, then
its exit status. The runtime started the process; this only moves bytes and ends it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from controlplane.api.v1 import streams_pb2

_CHUNK = 32 * 1024
# After the command exits, how long its output may still trickle in (a background child holding
# the pipe open would otherwise keep the exec open forever).
OUTPUT_GRACE = 1.0
_EXIT_POLL = 0.05

Receive = Callable[[], Awaitable[streams_pb2.ExecInput | None]]
Send = Callable[[streams_pb2.ExecOutput], Awaitable[None]]


def exit_status(returncode: int) -> int:
    """A process' return code as a shell reports it: killed by signal N is 128+N."""
    return 128 - returncode if returncode < 0 else returncode


class ExecSession:
    def __init__(self, process: asyncio.subprocess.Process, *, receive: Receive, send: Send,
                 output_grace: float = OUTPUT_GRACE) -> None:
        self.process = process
        self.receive = receive
        self.send = send
        self.output_grace = output_grace
        self._send_lock = asyncio.Lock()
        self._output_over = asyncio.Event()

    async def run(self) -> int:
        """Until the command has exited and its output is sent; its exit status. Cancelled (the
        client went away), it kills the command."""
        try:
            async with asyncio.TaskGroup() as group:
                outputs = [group.create_task(self._pump_output(self.process.stdout, "stdout"))]
                if self.process.stderr is not None:
                    outputs.append(group.create_task(self._pump_output(self.process.stderr, "stderr")))
                feeder = group.create_task(self._feed_input())
                returncode = await self._exit()
                timer = group.create_task(self._end_output_after(self.output_grace))
                await asyncio.wait(outputs)
                timer.cancel()
                feeder.cancel()
        finally:
            if self.process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    self.process.kill()
        return exit_status(returncode)

    async def _exit(self) -> int:
        """The command's return code once it has exited. (`Process.wait()` alone would also wait for
        every process that inherited its output pipes, like a `sleep 30 &` it started.)"""
        waiting = asyncio.ensure_future(self.process.wait())
        try:
            while self.process.returncode is None:
                await asyncio.wait([waiting], timeout=_EXIT_POLL)
        finally:
            waiting.cancel()
        return self.process.returncode

    async def _end_output_after(self, grace: float) -> None:
        await asyncio.sleep(grace)
        self._output_over.set()

    async def _read(self, stream: asyncio.StreamReader) -> bytes:
        """The next output; b"" at its end, or once the grace after the exit has passed (what was
        read is still all sent: only waiting for more stops)."""
        reading = asyncio.ensure_future(stream.read(_CHUNK))
        over = asyncio.ensure_future(self._output_over.wait())
        await asyncio.wait([reading, over], return_when=asyncio.FIRST_COMPLETED)
        over.cancel()
        if reading.done():
            return reading.result()
        reading.cancel()
        return b""

    async def _pump_output(self, stream: asyncio.StreamReader | None, name: str) -> None:
        if stream is None:
            return
        while True:
            try:
                data = await self._read(stream)
            except OSError:  # a terminal's master side reads EIO once the command has closed it
                return
            if not data:
                return
            message = streams_pb2.ExecOutput(stdout=data) if name == "stdout" else streams_pb2.ExecOutput(stderr=data)
            async with self._send_lock:
                await self.send(message)

    async def _feed_input(self) -> None:
        """stdin bytes to the command, then end-of-input (on a terminal, the runtime turns that into
        one ^D). Input after the command stopped reading is dropped, as a pipe would drop it."""
        stdin = self.process.stdin
        while True:
            message = await self.receive()
            ended = message is None or message.HasField("stdin_eof")
            if stdin is not None and ended:
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    stdin.close()
                stdin = None
            elif stdin is not None and message is not None and message.HasField("stdin"):
                try:
                    stdin.write(message.stdin)
                    await stdin.drain()
                except (BrokenPipeError, ConnectionResetError):
                    stdin = None
            # `resize` is accepted and ignored: the runtime's exec gives pipes, not the terminal itself.
            if message is None:
                return
