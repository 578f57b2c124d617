"""The agent's NodeStreams service (port 10250): a pod's logs, exec and port-forward, for the API
server's relay. Pods are found by uid through the lookup the agent core passes in; containers
through the runtime."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import Any

import grpc
import structlog
from grpc_reflection.v1alpha import reflection

from agent.runtime.interface import ContainerNotRunning
from agent.streams.attach import AttachSession
from agent.streams.containers import ContainerView, StreamRuntime, current_and_previous
from agent.streams.execsession import ExecSession
from agent.streams.logs import read_log
from agent.streams.portforward import PipeError, pipe, socket_error_text
from controlplane.api.errors import ApiError, Reason, bad_request
from controlplane.api.v1 import core_pb2, streams_pb2, streams_pb2_grpc
from controlplane.apiserver.streams import (
    Inbound,
    abort,
    exec_error,
    exec_start,
    forward_error,
    forward_start,
    two_way,
)
from controlplane.daemon import ConfigError

log = structlog.get_logger("agent.streams")

NODE_STREAMS_SERVICE = streams_pb2.DESCRIPTOR.services_by_name["NodeStreams"].full_name
_MESSAGE_LIMIT = 16 * 1024 * 1024
_CONNECT_TIMEOUT = 10.0

PodLookup = Callable[[str], core_pb2.Pod | None]
Context = grpc.aio.ServicerContext[Any, Any]


async def _report_exit(code: int, inbound: Inbound, context: Context) -> None:
    """An exec's or attach's exit status; the client ends its side on it, then the call ends OK."""
    await context.write(streams_pb2.ExecOutput(exit=streams_pb2.ExecExit(exit_code=code)))
    await inbound.drain()


class NodeStreamsService(streams_pb2_grpc.NodeStreamsServicer):
    def __init__(self, runtime: StreamRuntime, pods: PodLookup, *, poll_interval: float = 0.1) -> None:
        self.runtime = runtime
        self.pods = pods
        self.poll_interval = poll_interval

    def _pod(self, target: streams_pb2.PodTarget) -> core_pb2.Pod:
        pod = self.pods(target.uid) if target.uid else None
        if pod is None:
            raise ApiError(Reason.NOT_FOUND, f'pods "{target.name}" not found on this node (uid {target.uid})')
        return pod

    @staticmethod
    def _container_name(pod: core_pb2.Pod, requested: str) -> str:
        if requested:
            return requested
        if len(pod.spec.containers) == 1:
            return pod.spec.containers[0].name
        raise bad_request(f"a container name must be specified for pod {pod.metadata.name}")

    async def _instances(self, pod: core_pb2.Pod, name: str) -> tuple[ContainerView | None, ContainerView | None]:
        return current_and_previous(await self.runtime.list(pod.metadata.uid), name)

    async def _exited(self, pod_uid: str, container_id: str) -> bool:
        return not any(c.id == container_id and c.state == "running" for c in await self.runtime.list(pod_uid))

    # ------------------------------------------------------------------ logs

    async def ContainerLogs(self, request: streams_pb2.PodLogsRequest, context: Context) -> None:
        try:
            pod = self._pod(request.target)
            name = self._container_name(pod, request.target.container)
            current, previous = await self._instances(pod, name)
            if request.previous:
                if previous is None:
                    raise bad_request(f'previous terminated container "{name}" in pod "{pod.metadata.name}" '
                                      f"not found")
                instance = previous
            elif current is None:
                raise bad_request(f'container "{name}" in pod "{pod.metadata.name}" is not available')
            else:
                instance = current
            tail = request.tail_lines if request.HasField("tail_lines") and request.tail_lines >= 0 else None
            uid, container_id = pod.metadata.uid, instance.id
            chunks = read_log(self.runtime.log_path(container_id), tail=tail, timestamps=request.timestamps,
                              follow=request.follow, exited=lambda: self._exited(uid, container_id),
                              interval=self.poll_interval)
            async with contextlib.aclosing(chunks):
                async for data in chunks:
                    await context.write(streams_pb2.LogChunk(data=data))
        except ApiError as error:
            await abort(context, error)

    # ------------------------------------------------------------------ exec

    async def ContainerExec(self, request_iterator: Any, context: Context) -> None:
        async def serve(first: Any, inbound: Inbound) -> None:
            await _report_exit(await self._exec(exec_start(first, "exec"), inbound, context), inbound, context)

        await two_way(context, serve, exec_error)

    async def _exec(self, start: streams_pb2.ExecStart, inbound: Inbound, context: Context) -> int:
        """Run the command to its end; its exit status."""
        pod = self._pod(start.target)
        name = self._container_name(pod, start.target.container)
        current, _ = await self._instances(pod, name)
        if current is None or current.state != "running":
            raise ApiError(Reason.NOT_FOUND, f'container not found ("{name}")')
        if not start.command:
            raise bad_request("you must specify at least one command for the container")
        command = list(start.command)
        where = {"pod": f"{pod.metadata.namespace}/{pod.metadata.name}", "container": name}
        try:
            process = await self.runtime.exec(current.id, command, stdin=start.stdin, tty=start.tty)
        except ContainerNotRunning as error:  # it stopped meanwhile, or the node cannot exec at all
            raise ApiError(Reason.INTERNAL, f"error executing command in container: {error}") from None
        except (FileNotFoundError, PermissionError) as error:
            # What runc says when the command cannot be started, and the status kubectl then shows.
            why = "executable file not found in $PATH" if isinstance(error, FileNotFoundError) else "permission denied"
            await context.write(streams_pb2.ExecOutput(stderr=f'exec: "{command[0]}": {why}\n'.encode()))
            return 126
        log.info("exec.started", **where, command=command[0], stdin=start.stdin, tty=start.tty)
        code = await ExecSession(process, receive=inbound.get, send=context.write).run()
        log.info("exec.finished", **where, exit_code=code)
        return code

    # ------------------------------------------------------------------ attach

    async def ContainerAttach(self, request_iterator: Any, context: Context) -> None:
        async def serve(first: Any, inbound: Inbound) -> None:
            await _report_exit(await self._attach(exec_start(first, "attach"), inbound, context), inbound, context)

        await two_way(context, serve, exec_error)

    async def _attach(self, start: streams_pb2.ExecStart, inbound: Inbound, context: Context) -> int:
        """Follow the container's own process until it exits; its exit status."""
        pod = self._pod(start.target)
        name = self._container_name(pod, start.target.container)
        current, _ = await self._instances(pod, name)
        if current is None:
            raise ApiError(Reason.NOT_FOUND, f'container not found ("{name}")')
        spec = next((c for c in pod.spec.containers if c.name == name), None)
        attach_input = None
        if start.stdin and current.state == "running":
            try:
                attach_input = await self.runtime.attach_input(current.id)
            except ContainerNotRunning:
                attach_input = None  # it has just exited: its output and status still come
            else:
                if attach_input is None:
                    raise bad_request(f"container {name} in pod {pod.metadata.name} was not started with stdin "
                                      "(set stdin: true to attach to it)")
                if start.tty and start.HasField("size"):
                    with contextlib.suppress(ContainerNotRunning):
                        await attach_input.resize(start.size.width, start.size.height)
        uid, container_id = pod.metadata.uid, current.id
        log.info("attach.started", pod=f"{pod.metadata.namespace}/{pod.metadata.name}", container=name,
                 stdin=attach_input is not None)
        await AttachSession(self.runtime.log_path(container_id), attach_input,
                            stdin_once=spec is not None and spec.stdin_once,
                            exited=lambda: self._exited(uid, container_id), receive=inbound.get,
                            send=context.write, interval=self.poll_interval).run()
        ended = next((c for c in await self.runtime.list(uid) if c.id == container_id), None)
        return ended.exit_code if ended is not None and ended.exit_code is not None else 0

    # ------------------------------------------------------------------ port-forward

    async def PortForward(self, request_iterator: Any, context: Context) -> None:
        await two_way(context, lambda first, inbound: self._forward(forward_start(first), inbound, context),
                      forward_error)

    async def _forward(self, first: streams_pb2.PortForwardData, inbound: Inbound, context: Context) -> None:
        pod = self._pod(first.target)
        port = first.port
        if not 0 < port < 65536:
            raise bad_request(f"invalid port: {port}")
        where = f"error forwarding port {port} to pod {pod.metadata.name}, uid {pod.metadata.uid}"
        address = pod.status.pod_ip
        if not address:
            raise ApiError(Reason.FORBIDDEN, f"{where}: the pod has no IP address yet")
        try:
            async with asyncio.timeout(_CONNECT_TIMEOUT):
                reader, writer = await asyncio.open_connection(address, port)
        except (OSError, TimeoutError) as error:
            text = "i/o timeout" if isinstance(error, TimeoutError) else socket_error_text(error)
            raise ApiError(Reason.INTERNAL, f"{where}: dial tcp4 {address}:{port}: connect: {text}") from None
        try:
            await pipe(reader, writer, first, receive=inbound.get, send=context.write)
        except PipeError as error:
            raise ApiError(Reason.INTERNAL, f"{where}: {error.reason}") from None


async def serve_streams(listen: str, service: NodeStreamsService,
                        also: Sequence[Callable[[grpc.aio.Server], str]] = ()) -> grpc.aio.Server:
    """Start serving `service` (with server reflection) on `listen` (HOST:PORT) and return the started
    server; the caller stops it (`await server.stop(grace)`). ConfigError when it cannot bind.
    `also`: more services for the same port, each a function that adds one and returns its name."""
    server = grpc.aio.server(options=[("grpc.max_receive_message_length", _MESSAGE_LIMIT),
                                      ("grpc.max_send_message_length", _MESSAGE_LIMIT),
                                      ("grpc.so_reuseport", 0)])
    streams_pb2_grpc.add_NodeStreamsServicer_to_server(service, server)  # type: ignore[no-untyped-call]
    names = [NODE_STREAMS_SERVICE, *(add(server) for add in also)]
    reflection.enable_server_reflection((*names, reflection.SERVICE_NAME), server)
    try:
        server.add_insecure_port(listen)
    except RuntimeError:
        raise ConfigError(f"--listen {listen}: cannot bind (address in use or not local)") from None
    await server.start()
    log.info("streams.serving", address=listen)
    return server
