"""Client side of the Streams service: a pod's logs, an exec session, a forwarded connection.

    streams = StreamsClient(api.channel)
    async for data in streams.logs("default", "web", tail_lines=10): ...
    session = await streams.exec("default", "web", ["sh", "-c", "exit 3"])
    async for stream, data in session.output(): ...      # then session.exit_code == 3
    await forward_connection(streams, "default", "web", 80, reader, writer)

Refusals and failures are ApiErrors, as from ApiClient.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import grpc
from google.protobuf.message import Message

from controlplane.api.errors import ApiError, Reason
from controlplane.api.v1 import streams_pb2, streams_pb2_grpc
from controlplane.client.api import api_error

EOF: Any = grpc.aio.EOF  # type: ignore[attr-defined]  # grpc-stubs does not know it
LOST_STATUS = "Internal error from Core"  # what gRPC says when it lost a two-way call's status
CHUNK = 32 * 1024


class _Writer:
    """The client's side of a two-way call: writes one at a time, and an end (done_writing) after
    which nothing more is written, so the server's status is never lost (see streams.proto)."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self._lock = asyncio.Lock()
        self._ended = False

    async def write(self, message: Message) -> None:
        async with self._lock:
            if self._ended:
                return
            try:
                await self.call.write(message)
            except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
                self._ended = True  # the call has ended; the reader learns how

    async def end(self, last: Message | None = None) -> None:
        """Write `last` (if any), then end our side; later writes are dropped."""
        async with self._lock:
            if self._ended:
                return
            self._ended = True
            with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
                if last is not None:
                    await self.call.write(last)
                await self.call.done_writing()


async def _status_error(call: Any, error: grpc.aio.AioRpcError, told: str) -> ApiError:
    """The ApiError of a failed call; `told` is the server's in-band error text, used if gRPC lost
    the status anyway (a client that wrote as the call ended reads INTERNAL "Internal error from Core")."""
    if told and error.code() is grpc.StatusCode.INTERNAL and error.details() == LOST_STATUS:
        return ApiError(Reason.INTERNAL, told)
    return api_error(error)


class ExecSession:
    """A running exec: write its stdin, read its output; `exit_code` is set once the output ends."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self.exit_code: int | None = None
        self._writer = _Writer(call)

    async def write_stdin(self, data: bytes) -> None:
        await self._writer.write(streams_pb2.ExecInput(stdin=data))

    async def close_stdin(self) -> None:
        """End of input for the command (stdin closed; ^D on a terminal)."""
        await self._writer.write(streams_pb2.ExecInput(stdin_eof=True))

    async def resize(self, width: int, height: int) -> None:
        await self._writer.write(streams_pb2.ExecInput(resize=streams_pb2.TerminalSize(width=width, height=height)))

    async def output(self) -> AsyncIterator[tuple[str, bytes]]:
        """("stdout" | "stderr", bytes) as the command writes; ApiError when the exec failed."""
        told = ""
        try:
            while (message := await self.call.read()) is not EOF:
                kind = message.WhichOneof("output")
                if kind in ("stdout", "stderr"):
                    yield kind, getattr(message, kind)
                elif kind in ("exit", "error"):
                    if kind == "exit":
                        self.exit_code = message.exit.exit_code
                    told = message.error
                    await self._writer.end()  # so that the server can end the call
        except grpc.aio.AioRpcError as error:
            if self.exit_code is None:
                raise await _status_error(self.call, error, told) from None

    def cancel(self) -> None:
        self.call.cancel()


class ForwardedConnection:
    """One connection to a pod's port: send bytes, half-close, receive until the pod's side ends."""

    def __init__(self, call: Any) -> None:
        self.call = call
        self._writer = _Writer(call)
        self._told = ""

    async def send(self, data: bytes) -> None:
        await self._writer.write(streams_pb2.PortForwardData(data=data))

    async def send_eof(self) -> None:
        """Nothing more to send (TCP half-close); what the pod sends still arrives."""
        await self._writer.end(streams_pb2.PortForwardData(eof=True))

    async def receive(self) -> AsyncIterator[bytes]:
        """The pod's bytes until it half-closes; ApiError when the forwarding failed."""
        try:
            while (message := await self.call.read()) is not EOF:
                if message.error:
                    self._told = message.error
                    await self._writer.end()
                if message.data:
                    yield message.data
                if message.eof:
                    return
        except grpc.aio.AioRpcError as error:
            raise await _status_error(self.call, error, self._told) from None

    async def finish(self) -> None:
        """Wait for the server to end the call (after both sides' EOF); ApiError if it failed."""
        try:
            while (message := await self.call.read()) is not EOF:
                if message.error:
                    self._told = message.error
                    await self._writer.end()
        except grpc.aio.AioRpcError as error:
            raise await _status_error(self.call, error, self._told) from None

    def cancel(self) -> None:
        self.call.cancel()


class StreamsClient:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self.stub = streams_pb2_grpc.StreamsStub(channel)  # type: ignore[no-untyped-call]

    async def logs(self, namespace: str, name: str, *, container: str = "", follow: bool = False,
                   previous: bool = False, tail_lines: int | None = None,
                   timestamps: bool = False) -> AsyncIterator[bytes]:
        request = streams_pb2.PodLogsRequest(
            target=streams_pb2.PodTarget(namespace=namespace, name=name, container=container),
            follow=follow, previous=previous, timestamps=timestamps)
        if tail_lines is not None and tail_lines >= 0:
            request.tail_lines = tail_lines
        call = self.stub.PodLogs(request)
        try:
            async for chunk in call:
                yield chunk.data
        except grpc.aio.AioRpcError as error:
            raise api_error(error) from None
        finally:
            call.cancel()

    async def exec(self, namespace: str, name: str, command: list[str], *, container: str = "",
                   stdin: bool = False, tty: bool = False, size: tuple[int, int] | None = None) -> ExecSession:
        """Start the command; read its output with `output()`. `size` is the terminal's (width, height)."""
        start = streams_pb2.ExecStart(target=streams_pb2.PodTarget(namespace=namespace, name=name,
                                                                    container=container),
                                      command=command, stdin=stdin, tty=tty)
        if size is not None:
            start.size.width, start.size.height = size
        session = ExecSession(self.stub.PodExec())
        await session._writer.write(streams_pb2.ExecInput(start=start))
        if not stdin:
            await session.close_stdin()
        return session

    async def attach(self, namespace: str, name: str, *, container: str = "", stdin: bool = False,
                     tty: bool = False, size: tuple[int, int] | None = None) -> ExecSession:
        """Attach to the container's own process: its output from its start, our input to its stdin;
        `exit_code` is its exit status once it has exited."""
        start = streams_pb2.ExecStart(target=streams_pb2.PodTarget(namespace=namespace, name=name,
                                                                    container=container), stdin=stdin, tty=tty)
        if size is not None:
            start.size.width, start.size.height = size
        session = ExecSession(self.stub.PodAttach())
        await session._writer.write(streams_pb2.ExecInput(start=start))
        return session

    async def port_forward(self, namespace: str, name: str, port: int) -> ForwardedConnection:
        """A new connection to the pod's `port`."""
        connection = ForwardedConnection(self.stub.PodPortForward())
        await connection._writer.write(streams_pb2.PortForwardData(
            target=streams_pb2.PodTarget(namespace=namespace, name=name), port=port))
        return connection


async def forward_connection(streams: StreamsClient, namespace: str, name: str, port: int,
                             reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Pipe one local TCP connection to the pod's `port` until both sides are done; the local
    connection is closed at the end. ApiError when the forwarding failed."""
    connection = await streams.port_forward(namespace, name, port)

    async def outbound() -> None:
        while data := await reader.read(CHUNK):
            await connection.send(data)
        await connection.send_eof()

    async def inbound() -> None:
        async for data in connection.receive():
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
        await connection.finish()

    try:
        async with asyncio.TaskGroup() as group:
            group.create_task(outbound())
            group.create_task(inbound())
    except* ApiError as errors:
        raise errors.exceptions[0] from None
    except* OSError:
        pass  # the local side went away: nothing to tell it
    finally:
        connection.cancel()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


__all__ = ["ExecSession", "ForwardedConnection", "StreamsClient", "forward_connection"]
