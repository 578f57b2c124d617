"""One forwarded connection: bytes between the stream and a TCP connection to the pod's port, each
direction at the pace its reader takes them, each direction's end (half-close) passed on alone."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Awaitable, Callable

from controlplane.api.v1 import streams_pb2

CHUNK = 32 * 1024

Receive = Callable[[], Awaitable[streams_pb2.PortForwardData | None]]
Send = Callable[[streams_pb2.PortForwardData], Awaitable[None]]


class PipeError(Exception):
    """The pod's side of the connection failed (reset, refused); `reason` in Go's words."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def socket_error_text(error: OSError) -> str:
    """`connection refused`, `connection reset by peer`: an OSError as Go's net package words it."""
    if error.errno:
        return os.strerror(error.errno).lower()
    return (error.strerror or str(error) or type(error).__name__).lower()


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, first: streams_pb2.PortForwardData, *,
               receive: Receive, send: Send) -> None:
    """Until both directions have ended. `first` is the stream's first message (it may carry data).
    PipeError when the pod's side fails while it is still open."""
    pod_done = asyncio.Event()  # the pod sent its FIN: writing to it may now fail, and that is fine

    async def to_pod() -> None:
        message: streams_pb2.PortForwardData | None = first
        while message is not None and not message.eof:
            if message.data:
                await _write(message.data)
            message = await receive()
        if message is not None and message.data:
            await _write(message.data)
        with contextlib.suppress(OSError):
            if writer.can_write_eof():
                writer.write_eof()

    async def _write(data: bytes) -> None:
        try:
            writer.write(data)
            await writer.drain()
        except OSError as error:
            if not pod_done.is_set():
                raise PipeError(f"write: {socket_error_text(error)}") from None

    async def from_pod() -> None:
        while True:
            try:
                data = await reader.read(CHUNK)
            except OSError as error:
                raise PipeError(f"read: {socket_error_text(error)}") from None
            if not data:
                pod_done.set()
                await send(streams_pb2.PortForwardData(eof=True))
                return
            await send(streams_pb2.PortForwardData(data=data))

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(to_pod())
            group.create_task(from_pod())
    except* PipeError as errors:
        raise errors.exceptions[0] from None
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
