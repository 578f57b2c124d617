"""`klctl logs`, `exec` and `port-forward` as a student runs them: the real klctl, through a real API
server, to the agent's NodeStreams service on loopback.

The container runtime under the agent's service is a stand-in (an in-process library, not a kubelab
daemon): its containers are plain local processes, its logs files this test writes, and the pod's
IP is 127.0.0.1, where a local echo server plays the pod's port.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from agent.streams import NodeStreamsService, serve_streams
from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.v1 import core_pb2, streams_pb2, streams_pb2_grpc
from controlplane.client import ApiClient
from controlplane.client.streams import StreamsClient
from tests.support.daemon import ApiServerProcess

NODE = "worker1"
TS = "2026-11-21T13:05:0{}.12345Z"


# ---------------------------------------------------------------- the stand-in runtime

@dataclass
class FakeContainer:
    id: str
    pod_uid: str
    name: str
    attempt: int
    state: str = "running"


@dataclass
class FakeRuntime:
    logs_dir: Path
    containers: list[FakeContainer] = field(default_factory=list)
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)

    def add(self, pod_uid: str, name: str, attempt: int, state: str = "running", *lines: str) -> FakeContainer:
        container = FakeContainer(f"{name}-{attempt}-{pod_uid[:8]}", pod_uid, name, attempt, state)
        self.containers.append(container)
        self.write(container, *lines)
        return container

    def write(self, container: FakeContainer, *lines: str, partial: bool = False) -> None:
        """CRI entries; "err:" lines go to stderr."""
        with self.log_path(container.id).open("ab") as log:
            for index, line in enumerate(lines):
                stream, text = ("stderr", line[4:]) if line.startswith("err:") else ("stdout", line)
                log.write(f"{TS.format(index % 10)} {stream} {'P' if partial else 'F'} {text}\n".encode())

    async def list(self, pod_uid: str | None = None) -> list[FakeContainer]:
        return [c for c in self.containers if pod_uid is None or c.pod_uid == pod_uid]

    def log_path(self, container_id: str) -> Path:
        return self.logs_dir / f"{container_id}.log"

    async def exec(self, container_id: str, command: Sequence[str], *, stdin: bool,
                   tty: bool) -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, start_new_session=True)
        self.processes.append(process)
        return process


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Cluster:
    api: ApiClient
    runtime: FakeRuntime
    pods: dict[str, core_pb2.Pod]
    server: str

    async def pod(self, name: str, *containers: str, node: str = NODE, phase: str = "Running",
                  statuses: dict[str, str] | None = None, ports: dict[str, int] | None = None) -> core_pb2.Pod:
        """A pod bound to `node` whose status says each container is `statuses[name]` (default running)."""
        pod = core_pb2.Pod()
        pod.metadata.name, pod.metadata.namespace = name, "default"
        pod.spec.node_name = node
        for container in containers or ("web",):
            spec = pod.spec.containers.add(name=container, image="busybox")
            for port_name, number in (ports or {}).items():
                spec.ports.add(name=port_name, container_port=number)
        created = await self.api.create(pod)
        assert isinstance(created, core_pb2.Pod)
        created.status.phase = phase
        created.status.pod_ip = "127.0.0.1"
        for container in containers or ("web",):
            status = created.status.container_statuses.add(name=container)
            state = (statuses or {}).get(container, "running")
            if state.startswith("waiting:"):
                status.state.waiting.reason = state.partition(":")[2]
            else:
                status.state.running.started_at = "2026-11-21T13:05:00Z"
                status.last_state.terminated.exit_code = 1  # it restarted once
        updated = await self.api.update_status(created)
        assert isinstance(updated, core_pb2.Pod)
        self.pods[updated.metadata.uid] = updated
        return updated

    async def klctl(self, *args: str, stdin: bytes | None = None, timeout: float = 30) -> tuple[int, str, str]:
        process = await self.start_klctl(*args, stdin=stdin is not None)
        out, err = await asyncio.wait_for(process.communicate(stdin), timeout)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    async def start_klctl(self, *args: str, stdin: bool = False) -> asyncio.subprocess.Process:
        env = {**os.environ, "KUBELAB_CONFIG": "/nonexistent/klctl-config", "PYTHONUNBUFFERED": "1"}
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "controlplane.klctl.main", "--server", self.server, *args,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env)


@pytest.fixture
async def cluster(apiserver: ApiServerProcess, api: ApiClient, tmp_path: Path) -> AsyncIterator[Cluster]:
    runtime = FakeRuntime(tmp_path)
    pods: dict[str, core_pb2.Pod] = {}
    port = free_port()
    agent = await serve_streams(f"127.0.0.1:{port}", NodeStreamsService(runtime, pods.get, poll_interval=0.02))
    node = core_pb2.Node()
    node.metadata.name = NODE
    created = await api.create(node)
    assert isinstance(created, core_pb2.Node)
    created.status.addresses.add(type="InternalIP", address="127.0.0.1")
    created.status.daemon_endpoints.kubelet_endpoint.port = port
    await api.update_status(created)
    try:
        yield Cluster(api, runtime, pods, apiserver.address)
    finally:
        for process in runtime.processes:  # and whatever they left running
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        await agent.stop(0)


# ---------------------------------------------------------------- logs

async def test_logs_show_every_line_the_tail_timestamps_and_the_previous_run(cluster: Cluster) -> None:
    pod = await cluster.pod("web")
    uid = pod.metadata.uid
    cluster.runtime.add(uid, "web", 0, "exited", "booting v1", "err:crashed")
    current = cluster.runtime.add(uid, "web", 1, "running", "booting v2", "err:warming up")
    cluster.runtime.write(current, "a long line, ", "split in pieces, ", partial=True)
    cluster.runtime.write(current, "ends here", "ready")

    code, out, err = await cluster.klctl("logs", "web")
    assert (code, err) == (0, "")
    assert out == "booting v2\nwarming up\na long line, split in pieces, ends here\nready\n"
    assert (await cluster.klctl("logs", "pod/web", "--tail", "2"))[1] == (
        "a long line, split in pieces, ends here\nready\n")
    assert (await cluster.klctl("logs", "web", "--tail=1", "--timestamps"))[1] == (
        "2026-11-21T13:05:01.123450000Z ready\n")
    assert (await cluster.klctl("logs", "web", "--tail", "0"))[1] == ""
    assert (await cluster.klctl("logs", "web", "--previous"))[1] == "booting v1\ncrashed\n"
    assert (await cluster.klctl("logs", "-p", "web", "-c", "web", "--tail", "1"))[1] == "crashed\n"


async def test_logs_follow_prints_as_the_container_writes_and_ends_when_it_exits(cluster: Cluster) -> None:
    pod = await cluster.pod("web")
    container = cluster.runtime.add(pod.metadata.uid, "web", 0, "running", "started")
    follower = await cluster.start_klctl("logs", "-f", "web")
    assert follower.stdout is not None
    assert await asyncio.wait_for(follower.stdout.readline(), 10) == b"started\n"
    cluster.runtime.write(container, "request 1", "request 2")
    assert await asyncio.wait_for(follower.stdout.readline(), 10) == b"request 1\n"
    assert await asyncio.wait_for(follower.stdout.readline(), 10) == b"request 2\n"
    cluster.runtime.write(container, "shutting down")
    container.state = "exited"
    rest, _ = await asyncio.wait_for(follower.communicate(), 10)
    assert follower.returncode == 0 and rest == b"shutting down\n"


async def test_logs_refusals_are_in_kubectls_words(cluster: Cluster) -> None:
    await cluster.pod("creating", statuses={"web": "waiting:ContainerCreating"})
    await cluster.pod("two", "app", "sidecar")
    await cluster.pod("pending", node="")
    cases = {
        ("logs", "nothere"): 'Error from server (NotFound): pods "nothere" not found',
        ("logs", "creating"): 'Error from server (BadRequest): container "web" in pod "creating" is waiting to '
                              "start: ContainerCreating",
        ("logs", "pending"): "Error from server (BadRequest): pod pending does not have a host assigned",
        ("logs", "two", "-c", "db"): "Error from server (BadRequest): container db is not valid for pod two",
    }
    for args, message in cases.items():
        code, out, err = await cluster.klctl(*args)
        assert (code, out, err.strip()) == (1, "", message), args


async def test_logs_of_a_pod_with_several_containers_default_to_the_first(cluster: Cluster) -> None:
    pod = await cluster.pod("two", "app", "sidecar")
    cluster.runtime.add(pod.metadata.uid, "app", 0, "running", "from app")
    cluster.runtime.add(pod.metadata.uid, "sidecar", 0, "running", "from sidecar")
    code, out, err = await cluster.klctl("logs", "two")
    assert (code, out, err) == (0, "from app\n", 'Defaulted container "app" out of: app, sidecar\n')
    assert (await cluster.klctl("logs", "two", "-c", "sidecar"))[1] == "from sidecar\n"


async def test_the_api_server_asks_for_a_container_when_there_are_several(cluster: Cluster) -> None:
    await cluster.pod("two", "app", "sidecar")
    async with grpc.aio.insecure_channel(cluster.server) as channel:
        stub = streams_pb2_grpc.StreamsStub(channel)  # type: ignore[no-untyped-call]
        call = stub.PodLogs(streams_pb2.PodLogsRequest(target=streams_pb2.PodTarget(namespace="default",
                                                                                    name="two")))
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            async for _ in call:
                pass
    assert refused.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert refused.value.details() == "a container name must be specified for pod two, choose one of: [app sidecar]"


# ---------------------------------------------------------------- exec

async def test_exec_streams_stdin_and_passes_the_exit_status_back(cluster: Cluster) -> None:
    pod = await cluster.pod("web")
    cluster.runtime.add(pod.metadata.uid, "web", 0)
    script = "tr a-z A-Z; echo done >&2; exit 3"
    code, out, err = await cluster.klctl("exec", "-i", "web", "--", "sh", "-c", script, stdin=b"hello\nworld\n")
    assert code == 3
    assert out == "HELLO\nWORLD\n"
    assert err == "done\ncommand terminated with exit code 3\n"
    assert await cluster.klctl("exec", "web", "-c", "web", "--", "sh", "-c", "echo $((6*7))") == (0, "42\n", "")
    big = os.urandom(3 * 1024 * 1024)
    code, out, _ = await cluster.klctl("exec", "-i", "web", "--", "sha256sum", stdin=big)
    assert code == 0 and out.split()[0] == hashlib.sha256(big).hexdigest()


async def test_exec_refusals_and_failures_are_in_kubectls_words(cluster: Cluster) -> None:
    pod = await cluster.pod("web")
    cluster.runtime.add(pod.metadata.uid, "web", 0)
    stopped = await cluster.pod("stopped")
    cluster.runtime.add(stopped.metadata.uid, "web", 0, "exited")
    await cluster.pod("done", phase="Succeeded")
    assert await cluster.klctl("exec", "web") == (1, "", "error: you must specify at least one command for the "
                                                          "container\n")
    assert await cluster.klctl("exec", "web", "--", "no-such-command") == (
        126, "", 'exec: "no-such-command": executable file not found in $PATH\ncommand terminated with exit code 126\n')
    assert await cluster.klctl("exec", "stopped", "--", "true") == (
        1, "", 'Error from server (NotFound): container not found ("web")\n')
    assert await cluster.klctl("exec", "done", "--", "true") == (
        1, "", "error: cannot exec into a container in a completed pod; current phase is Succeeded\n")
    code, _, err = await cluster.klctl("exec", "-it", "web", "--", "true")
    assert (code, err) == (0, "Unable to use a TTY - input is not a terminal or the right kind of file\n")


async def test_a_killed_klctl_ends_the_command_in_the_container(cluster: Cluster) -> None:
    """Cancellation crosses both hops: klctl -> API server -> agent, which kills the command."""
    pod = await cluster.pod("web")
    cluster.runtime.add(pod.metadata.uid, "web", 0)
    klctl = await cluster.start_klctl("exec", "web", "--", "sh", "-c", "echo started; exec sleep 60")
    assert klctl.stdout is not None
    assert await asyncio.wait_for(klctl.stdout.readline(), 10) == b"started\n"
    [command] = cluster.runtime.processes
    klctl.send_signal(signal.SIGKILL)
    await klctl.wait()
    await asyncio.wait_for(command.wait(), 10)
    assert command.returncode == -signal.SIGKILL


# ---------------------------------------------------------------- port-forward

@contextlib.asynccontextmanager
async def echo_server() -> AsyncIterator[int]:
    """The pod's port: echoes what it reads, and closes its side after the client closed its own."""
    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]


async def forwarded_port(klctl: asyncio.subprocess.Process) -> int:
    assert klctl.stdout is not None
    line = (await asyncio.wait_for(klctl.stdout.readline(), 20)).decode()
    found = re.fullmatch(r"Forwarding from 127\.0\.0\.1:(\d+) -> (\d+)\n", line)
    assert found, line
    return int(found.group(1))


async def round_trip(port: int, payload: bytes) -> bytes:
    """Send everything, half-close, and read until the far end closes (both directions at once)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def send() -> None:
        for start in range(0, len(payload), 1 << 20):
            writer.write(payload[start:start + (1 << 20)])
            await writer.drain()
        writer.write_eof()

    sending = asyncio.create_task(send())
    received = await reader.read(-1)
    await sending
    writer.close()
    return received


async def test_port_forward_carries_large_transfers_both_ways_with_half_close(cluster: Cluster) -> None:
    await cluster.pod("web")
    async with echo_server() as pod_port:
        klctl = await cluster.start_klctl("port-forward", "pod/web", f":{pod_port}", "--address", "127.0.0.1")
        try:
            local = await forwarded_port(klctl)
            payload = os.urandom(16 * 1024 * 1024)
            results = await asyncio.wait_for(asyncio.gather(
                round_trip(local, payload), round_trip(local, b"small"), round_trip(local, b"")), 60)
            assert hashlib.sha256(results[0]).digest() == hashlib.sha256(payload).digest()
            assert results[1:] == [b"small", b""]
            assert klctl.stdout is not None
            handled = [await asyncio.wait_for(klctl.stdout.readline(), 5) for _ in range(3)]
            assert set(handled) == {f"Handling connection for {local}\n".encode()}
        finally:
            klctl.send_signal(signal.SIGINT)
            await klctl.wait()


async def test_port_forward_reports_a_closed_port_and_keeps_forwarding(cluster: Cluster) -> None:
    await cluster.pod("web")
    closed = free_port()
    klctl = await cluster.start_klctl("port-forward", "web", f":{closed}")
    try:
        local = await forwarded_port(klctl)
        assert await asyncio.wait_for(round_trip(local, b"anyone?"), 10) == b""
        assert klctl.stderr is not None
        line = (await asyncio.wait_for(klctl.stderr.readline(), 10)).decode()
        assert line.startswith(f"an error occurred forwarding {local} -> {closed}: error forwarding port {closed} "
                               f"to pod web, uid ")
        assert line.endswith(f"dial tcp4 127.0.0.1:{closed}: connect: connection refused\n")
        assert await asyncio.wait_for(round_trip(local, b"again"), 10) == b""  # still listening
    finally:
        klctl.send_signal(signal.SIGINT)
        await klctl.wait()


async def test_port_forward_needs_a_running_pod(cluster: Cluster) -> None:
    await cluster.pod("pending", phase="Pending")
    assert await cluster.klctl("port-forward", "pending", "8080:80") == (
        1, "", "error: unable to forward port because pod is not running. Current status=Pending\n")


async def test_pods_are_found_through_their_deployment(cluster: Cluster, api: ApiClient) -> None:
    pod = await cluster.pod("web-abc")
    pod.metadata.labels["app"] = "web"
    await api.update(pod)
    cluster.runtime.add(pod.metadata.uid, "web", 0, "running", "hello from web-abc")
    deployment = kinds.by_kind("Deployment").new()
    deployment.metadata.name = "web"  # type: ignore[attr-defined]
    deployment.spec.selector.match_labels["app"] = "web"  # type: ignore[attr-defined]
    deployment.spec.template.metadata.labels["app"] = "web"  # type: ignore[attr-defined]
    deployment.spec.template.spec.containers.add(name="web", image="busybox")  # type: ignore[attr-defined]
    await api.create(deployment)
    assert await cluster.klctl("logs", "deploy/web") == (0, "hello from web-abc\n", "")


async def test_the_agent_refuses_a_pod_it_does_not_run(cluster: Cluster) -> None:
    pod = await cluster.pod("web")
    del cluster.pods[pod.metadata.uid]
    code, _, err = await cluster.klctl("exec", "web", "--", "true")
    assert code == 1 and err.startswith('Error from server (NotFound): pods "web" not found on this node'), err


async def test_refusals_reach_a_client_that_is_still_writing(cluster: Cluster) -> None:
    """gRPC loses the status of a two-way call that ends under a client's writes; the two-step end
    (streams.proto) keeps it, on both hops, however the writes and the end interleave."""
    stopped = await cluster.pod("stopped")
    cluster.runtime.add(stopped.metadata.uid, "web", 0, "exited")
    await cluster.pod("pending", node="")
    streams = StreamsClient(cluster.api.channel)

    async def refusal(pod: str) -> ApiError:
        session = await streams.exec("default", pod, ["cat"], stdin=True)
        writes = asyncio.gather(*(session.write_stdin(b"x" * 1000) for _ in range(20)))
        with pytest.raises(ApiError) as refused:
            async for _ in session.output():
                pass
        await writes
        return refused.value

    for _ in range(25):
        at_agent, at_apiserver = await asyncio.gather(refusal("stopped"), refusal("pending"))
        assert (at_agent.reason, at_agent.message) == (Reason.NOT_FOUND, 'container not found ("web")')
        assert (at_apiserver.reason, at_apiserver.message) == (
            Reason.BAD_REQUEST, "pod pending does not have a host assigned")


async def test_exec_ends_when_the_command_exits_even_if_a_child_keeps_its_output_open(cluster: Cluster) -> None:
    pod = await cluster.pod("web")
    cluster.runtime.add(pod.metadata.uid, "web", 0)
    started = asyncio.get_running_loop().time()
    assert await cluster.klctl("exec", "web", "--", "sh", "-c", "echo bye; sleep 30 & exit 4") == (
        4, "bye\n", "command terminated with exit code 4\n")
    assert asyncio.get_running_loop().time() - started < 10
