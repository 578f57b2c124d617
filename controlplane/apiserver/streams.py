"""The API server's Streams service: `kubectl logs`, `exec`, `attach` and `port-forward` relayed to the agent.

For each call: find the pod, check what Kubernetes' API server and kubelet check (a container is
named or there is only one, the pod is bound to a node, the container has logs to show), find the
node's agent (its InternalIP and status.daemonEndpoints.kubeletEndpoint.Port) and relay the stream
to it, message for message, until either side ends it. A cancelled client cancels the agent's call;
the agent's status (with its Kubernetes reason) comes back to the client as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn

import grpc
import structlog
from google.protobuf.message import Message

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason, bad_request
from controlplane.api.v1 import core_pb2, streams_pb2, streams_pb2_grpc
from controlplane.apiserver.grpc_api import REASON_KEY, STATUS_CODES
from controlplane.apiserver.registry import Registry
from controlplane.store import StoreError

EOF: Any = grpc.aio.EOF  # type: ignore[attr-defined]  # the end of a stream (grpc-stubs lacks it)
log = structlog.get_logger("apiserver.streams")

STREAMS_SERVICE = streams_pb2.DESCRIPTOR.services_by_name["Streams"].full_name
POD = kinds.by_kind("Pod")
NODE = kinds.by_kind("Node")
DEFAULT_AGENT_PORT = 10250
_ADDRESS_PREFERENCE = ("InternalIP", "ExternalIP", "Hostname")
_MESSAGE_LIMIT = 16 * 1024 * 1024
# How long a two-way call that ends waits for the client to end its side (see streams.proto).
DRAIN_TIMEOUT = 5.0

Context = grpc.aio.ServicerContext[Any, Any]


# ---------------------------------------------------------------- checks, in Kubernetes' words

def resolve_container(pod: core_pb2.Pod, requested: str) -> str:
    """The container a request means: the one named, or the pod's only one."""
    name = pod.metadata.name
    containers = [c.name for c in pod.spec.containers]
    init_containers = [c.name for c in pod.spec.init_containers]
    if requested:
        if requested not in containers and requested not in init_containers:
            raise bad_request(f"container {requested} is not valid for pod {name}")
        return requested
    if len(containers) == 1:
        return containers[0]
    if not containers:
        raise bad_request(f"a container name must be specified for pod {name}")
    message = f"a container name must be specified for pod {name}, choose one of: [{' '.join(containers)}]"
    if init_containers:
        message += f" or one of the init containers: [{' '.join(init_containers)}]"
    raise bad_request(message)


def require_node(pod: core_pb2.Pod) -> str:
    if not pod.spec.node_name:
        raise bad_request(f"pod {pod.metadata.name} does not have a host assigned")
    return pod.spec.node_name


def check_log_status(pod: core_pb2.Pod, container: str, previous: bool) -> None:
    """Refuse, as the kubelet does, logs that cannot exist yet, judged by the pod's reported status."""
    statuses = list(pod.status.container_statuses) + list(pod.status.init_container_statuses)
    where = f'container "{container}" in pod "{pod.metadata.name}"'
    status = next((s for s in statuses if s.name == container), None)
    if status is None:
        if not statuses:  # the agent has not reported yet: it is creating the containers
            raise bad_request(f"{where} is waiting to start: ContainerCreating")
        raise bad_request(f"{where} is not available")
    state, last = status.state, status.last_state
    if previous:
        if not last.HasField("terminated"):
            raise bad_request(f"previous terminated {where} not found")
        return
    if state.HasField("running") or state.HasField("terminated") or last.HasField("terminated"):
        return
    if state.HasField("waiting"):
        reason = state.waiting.reason
        if reason == "ErrImagePull":
            raise bad_request(f"{where} is waiting to start: image can't be pulled")
        if reason == "ImagePullBackOff":
            raise bad_request(f"{where} is waiting to start: trying and failing to pull image")
        raise bad_request(f"{where} is waiting to start: {reason}")
    raise bad_request(f"{where} is waiting to start - no logs yet")


def agent_address(node: core_pb2.Node) -> str:
    """HOST:PORT of the node's agent."""
    by_type: dict[str, str] = {}
    for address in node.status.addresses:
        by_type.setdefault(address.type, address.address)
    host = next((by_type[t] for t in _ADDRESS_PREFERENCE if t in by_type), "")
    if not host:
        known = " ".join(f"{{{a.type} {a.address}}}" for a in node.status.addresses)
        raise ApiError(Reason.INTERNAL, f"no preferred addresses found; known addresses: [{known}]")
    port = node.status.daemon_endpoints.kubelet_endpoint.port or DEFAULT_AGENT_PORT
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def relayed_error(error: grpc.aio.AioRpcError, address: str) -> ApiError:
    """The agent's refusal as the API server passes it on; an agent it cannot reach, in Kubernetes' words."""
    metadata: Any = error.trailing_metadata() or ()
    reason = next((r for key, value in metadata if key == REASON_KEY for r in Reason if r.value == value), None)
    if reason is not None:
        return ApiError(reason, error.details() or error.code().name)
    if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
        return ApiError(Reason.INTERNAL, f"error dialing backend: dial tcp {address}: {error.details()}")
    return ApiError(Reason.INTERNAL, f"error from the agent at {address}: {error.code().name}: {error.details()}")


# ---------------------------------------------------------------- the relay

class AgentConnections:
    """One channel per agent address, kept for the API server's life."""

    def __init__(self) -> None:
        self._channels: dict[str, grpc.aio.Channel] = {}

    def channel(self, address: str) -> grpc.aio.Channel:
        channel = self._channels.get(address)
        if channel is None:
            channel = grpc.aio.insecure_channel(address, options=[
                ("grpc.max_receive_message_length", _MESSAGE_LIMIT),
                ("grpc.max_send_message_length", _MESSAGE_LIMIT)])
            self._channels[address] = channel
        return channel

    def stub(self, address: str) -> Any:
        return streams_pb2_grpc.NodeStreamsStub(self.channel(address))  # type: ignore[no-untyped-call]

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close(None)


async def abort(context: Context, error: ApiError) -> NoReturn:
    """End the call with the error's status code and its Kubernetes reason (the Api service's mapping)."""
    context.set_trailing_metadata(((REASON_KEY, error.reason.value),))
    await context.abort(STATUS_CODES[error.reason], error.message)
    raise AssertionError("unreachable: abort raises")  # pragma: no cover


class Inbound:
    """The client's messages on a two-way call, read by one task for the whole call and handed out
    through a short queue (which keeps gRPC's flow control: nothing is read ahead of the consumer).

    One task, because gRPC allows one pending read per call and a read cancelled midway must not
    be followed by another; consumers may be cancelled freely while they wait on the queue."""

    def __init__(self, context: Context, depth: int = 4) -> None:
        self.context = context
        self._queue: asyncio.Queue[Any] = asyncio.Queue(depth)
        self._ended = False
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Inbound:
        self._task = asyncio.create_task(self._read_all())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])

    async def _read_all(self) -> None:
        while True:
            message = await self.context.read()
            await self._queue.put(None if message is EOF else message)
            if message is EOF:
                return

    async def get(self) -> Any:
        """The next message; None once the client has ended its side (and ever after)."""
        if self._ended:
            return None
        message = await self._queue.get()
        if message is None:
            self._ended = True
            self._queue.put_nowait(None)  # for any other task waiting here
        return message

    async def drain(self, timeout: float = DRAIN_TIMEOUT) -> None:
        """Drop what the client still sends until it ends its side (or `timeout` passes)."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout):
                while await self.get() is not None:
                    pass


async def end_with_error(context: Context, inbound: Inbound, error: ApiError, last: Message) -> NoReturn:
    """The two-step end of a two-way call (see streams.proto): `last` (an in-band error) tells the
    client to stop writing; once it has ended its side, the status can reach it."""
    with contextlib.suppress(Exception):  # a client that is gone needs no status
        await context.write(last)
    await inbound.drain()
    await abort(context, error)


async def two_way(context: Context, serve: Callable[[Any, Inbound], Awaitable[None]],
                  error_reply: Callable[[str], Message]) -> None:
    """A two-way call (exec, attach, port-forward; here and in the agent): `serve(first, inbound)`
    with the client's first message (None when it sent none); an ApiError ends the call in two
    steps, its message in band as `error_reply(message)`."""
    async with Inbound(context) as inbound:
        try:
            await serve(await inbound.get(), inbound)
        except ApiError as error:
            await end_with_error(context, inbound, error, error_reply(error.message))


def exec_start(first: Any, verb: str) -> streams_pb2.ExecStart:
    """The `start` that must open an exec or attach call."""
    if first is None or not first.HasField("start"):
        raise bad_request(f"the first message of an {verb} must be `start`")
    start: streams_pb2.ExecStart = first.start
    return start


def attach_start(first: Any) -> streams_pb2.ExecStart:
    start = exec_start(first, "attach")
    if start.command:
        raise bad_request("an attach runs no command: leave `command` empty (exec runs one)")
    return start


def forward_start(first: Any) -> streams_pb2.PortForwardData:
    """The first message of a port-forward call, which names the pod and the port."""
    if first is None or not first.HasField("target"):
        raise bad_request("the first message must name the pod (target) and the port")
    opening: streams_pb2.PortForwardData = first
    return opening


def exec_error(message: str) -> streams_pb2.ExecOutput:
    return streams_pb2.ExecOutput(error=message)


def forward_error(message: str) -> streams_pb2.PortForwardData:
    return streams_pb2.PortForwardData(error=message)


class StreamsService(streams_pb2_grpc.StreamsServicer):
    def __init__(self, registry: Registry, agents: AgentConnections | None = None) -> None:
        self.registry = registry
        self.agents = agents or AgentConnections()

    async def close(self) -> None:
        await self.agents.close()

    async def _target(self, target: streams_pb2.PodTarget, *, need_container: bool,
                      ) -> tuple[core_pb2.Pod, streams_pb2.PodTarget, str]:
        """The pod, the target as the agent takes it (uid and container filled in), the agent's address."""
        if not target.name:
            raise bad_request("target.name: Required value: the pod's name is required")
        namespace = target.namespace or "default"
        try:
            pod = await self.registry.get(POD, namespace, target.name)
            assert isinstance(pod, core_pb2.Pod)
            container = resolve_container(pod, target.container) if need_container else target.container
            node = await self.registry.get(NODE, "", require_node(pod))
            assert isinstance(node, core_pb2.Node)
        except StoreError as error:
            raise ApiError(Reason.INTERNAL, f"storage error: {error}") from None
        resolved = streams_pb2.PodTarget(namespace=namespace, name=target.name, uid=pod.metadata.uid,
                                         container=container)
        return pod, resolved, agent_address(node)

    async def PodLogs(self, request: streams_pb2.PodLogsRequest, context: Context) -> None:
        try:
            pod, target, address = await self._target(request.target, need_container=True)
            check_log_status(pod, target.container, request.previous)
            forwarded = streams_pb2.PodLogsRequest()
            forwarded.CopyFrom(request)
            forwarded.target.CopyFrom(target)
            call = self.agents.stub(address).ContainerLogs(forwarded)
            try:
                async for chunk in call:
                    await context.write(chunk)
            except grpc.aio.AioRpcError as error:
                raise relayed_error(error, address) from None
            finally:
                call.cancel()
        except ApiError as error:
            await abort(context, error)

    async def PodExec(self, request_iterator: Any, context: Context) -> None:
        await self._relay_to_agent(context, lambda first: exec_start(first, "exec").target, "ContainerExec",
                                   exec_error, event="exec.relayed")

    async def PodAttach(self, request_iterator: Any, context: Context) -> None:
        await self._relay_to_agent(context, lambda first: attach_start(first).target, "ContainerAttach",
                                   exec_error, event="attach.relayed")

    async def PodPortForward(self, request_iterator: Any, context: Context) -> None:
        await self._relay_to_agent(context, lambda first: forward_start(first).target, "PortForward",
                                   forward_error, need_container=False)

    async def _relay_to_agent(self, context: Context, target_of: Callable[[Any], streams_pb2.PodTarget],
                              method: str, error_reply: Callable[[str], Message], *, event: str = "",
                              need_container: bool = True) -> None:
        """A two-way call relayed to the agent's `method`, its first message's target (`target_of`)
        resolved as the agent takes it."""
        async def relay(first: Any, inbound: Inbound) -> None:
            requested = target_of(first)
            _, target, address = await self._target(requested, need_container=need_container)
            requested.CopyFrom(target)
            if event:
                log.info(event, pod=f"{target.namespace}/{target.name}", container=target.container, agent=address)
            await _relay(inbound, context, getattr(self.agents.stub(address), method)(), first, address)

        await two_way(context, relay, error_reply)


async def _relay(inbound: Inbound, context: Context, call: Any, first: Message, address: str) -> None:
    """Every message both ways, the client's end of its side passed on as ours, until the agent ends
    the call: its status is ours (ApiError when it failed). A client that goes away cancels the
    agent's call."""

    async def upstream() -> None:
        try:
            await call.write(first)
            while (message := await inbound.get()) is not None:
                await call.write(message)
            await call.done_writing()
        except (grpc.aio.AioRpcError, asyncio.InvalidStateError):
            pass  # the agent's call has ended; downstream tells how

    sending = asyncio.create_task(upstream())
    told = False  # whether the agent's last message told the client that the call ends
    try:
        while (reply := await call.read()) is not EOF:
            await context.write(reply)
            told = reply.WhichOneof("output") in ("exit", "error") if isinstance(reply, streams_pb2.ExecOutput) \
                else bool(reply.error)
    except grpc.aio.AioRpcError as error:
        if told:  # the client has ended its side (which let the agent end): the status can follow
            await asyncio.wait([sending], timeout=DRAIN_TIMEOUT)
            await abort(context, relayed_error(error, address))
        raise relayed_error(error, address) from None
    finally:
        call.cancel()  # a no-op once the call has ended
        sending.cancel()
        await asyncio.wait([sending])
