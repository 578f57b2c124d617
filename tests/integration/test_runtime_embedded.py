"""The embedded runtime for real: containers in a network namespace each test makes (klrt-*), with
mounts, cgroups, logs, exec, stop, OOM, and adoption by a new runtime after the old one went away.
Every test's namespace, state directory, cgroups and processes are removed by its fixtures."""

from __future__ import annotations

import asyncio
import ctypes
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from agent import pidwait
from agent.runtime import (
    ContainerConfig,
    ContainerNotFound,
    ContainerNotRunning,
    ContainerStatus,
    EmbeddedRuntime,
    ImagePullError,
    Mount,
    procs,
)
from agent.runtime.state import read_json
from agent.streams.logs import read_log
from tests.support.wait import eventually

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0,
                       reason="the embedded runtime needs root: network namespaces, overlay mounts, cgroups"),
]

REPO = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
CRI_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z (stdout|stderr) [FP] (.*)$")


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@pytest.fixture
def netns() -> Iterator[str]:
    name = f"klrt-{secrets.token_hex(4)}"
    _ip("netns", "add", name)
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], check=False, capture_output=True)


@pytest.fixture
def cgroup_parent() -> str:
    return f"klrt-{secrets.token_hex(4)}"


@pytest.fixture
async def runtime(tmp_path: Path, netns: str, cgroup_parent: str) -> AsyncIterator[EmbeddedRuntime]:
    runtime = EmbeddedRuntime(tmp_path / "state", cgroup_parent)
    try:
        yield runtime
    finally:
        await _remove_everything(runtime)


async def _remove_everything(runtime: EmbeddedRuntime) -> None:
    """Every pod this test's runtime knows of, then its cgroup parent directories (rmdir only)."""
    records = await asyncio.to_thread(runtime._scan, None, True)
    for pod_uid in {record.pod_uid for record in records}:
        await runtime.remove_pod(pod_uid)
    for root in {*runtime.cgroups.hierarchies.v1.values(), runtime.cgroups.hierarchies.v2} - {""}:
        path = Path(root) / runtime.cgroups.parent
        if path.is_dir():
            path.rmdir()


@dataclass
class Pod:
    netns: str
    directory: Path
    name: str = "web-1"
    uid: str = field(default_factory=lambda: str(uuid.uuid4()))

    def __post_init__(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.hosts = self.directory / "hosts"
        self.hosts.write_text(f"127.0.0.1\tlocalhost\n10.244.1.5\t{self.name}\n")
        self.resolv = self.directory / "resolv.conf"
        self.resolv.write_text("nameserver 10.96.0.10\nsearch default.svc.cluster.local svc.cluster.local "
                               "cluster.local\noptions ndots:5\n")

    def config(self, name: str = "c", image: str = "busybox", command: tuple[str, ...] = (),
               args: tuple[str, ...] = (), attempt: int = 0, **kwargs: object) -> ContainerConfig:
        settings: dict[str, object] = {"env": (), "working_dir": "", "mounts": ()}
        settings.update(kwargs)
        return ContainerConfig(pod_uid=self.uid, pod_namespace="default", pod_name=self.name, name=name,
                               attempt=attempt, image=image, command=command, args=args,
                               netns_path=Path("/run/netns") / self.netns, hostname=self.name,
                               etc_hosts=self.hosts, resolv_conf=self.resolv, **settings)  # type: ignore[arg-type]


@pytest.fixture
def pod(tmp_path: Path, netns: str, runtime: EmbeddedRuntime) -> Pod:
    return Pod(netns, tmp_path / "pod")


def log_lines(runtime: EmbeddedRuntime, container_id: str) -> list[tuple[str, str]]:
    """(stream, text) of each entry of the container's log, checking the CRI format on the way."""
    path = runtime.log_path(container_id)
    lines = path.read_text().splitlines() if path.exists() else []
    parsed = []
    for line in lines:
        match = CRI_LINE.match(line)
        assert match, f"not a CRI log line: {line!r}"
        parsed.append((match.group(1), match.group(2)))
    return parsed


def output(runtime: EmbeddedRuntime, container_id: str) -> list[str]:
    return [text for _, text in log_lines(runtime, container_id)]


async def until_logged(runtime: EmbeddedRuntime, container_id: str, text: str, timeout: float = 10) -> None:
    async def check() -> bool:
        return any(text in line for line in output(runtime, container_id))

    await eventually(check, timeout=timeout, what=f"{text!r} in the log of {container_id[:12]}")


async def curl(netns: str, url: str) -> str | None:
    process = await asyncio.create_subprocess_exec(
        "ip", "netns", "exec", netns, "curl", "-s", "-f", "-m", "2", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    out, _ = await process.communicate()
    return out.decode() if process.returncode == 0 else None


def config_of(runtime: EmbeddedRuntime, status: ContainerStatus) -> dict[str, object]:
    return read_json(runtime.layout.config(status.id))


def state_of(runtime: EmbeddedRuntime, status: ContainerStatus) -> dict[str, object]:
    return read_json(runtime.layout.state(status.id))


# ---- running things -------------------------------------------------------------------------------------

async def test_busybox_echo_completes_with_its_line_in_the_log(runtime: EmbeddedRuntime, pod: Pod) -> None:
    started = await runtime.start(pod.config(command=("echo", "hello")))
    assert started.pid > 0
    status = await asyncio.wait_for(runtime.wait(started.id), 10)
    assert (status.state, status.exit_code, status.reason, status.signal) == ("exited", 0, "Completed", None)
    assert status.finished_at is not None and status.finished_at >= status.started_at
    assert log_lines(runtime, started.id) == [("stdout", "hello")]
    assert runtime.log_path(started.id).name == "0.log"


async def test_every_line_of_a_burst_of_output_is_logged(runtime: EmbeddedRuntime, pod: Pod) -> None:
    started = await runtime.start(pod.config(command=("sh", "-c", "seq 1 30000; seq 1 5 | tr -d '\\n'")))
    status = await asyncio.wait_for(runtime.wait(started.id), 20)
    assert (status.exit_code, status.reason) == (0, "Completed")
    lines = output(runtime, started.id)
    assert lines == [str(i) for i in range(1, 30001)] + ["12345"]  # the unfinished last line too


async def test_apps_answer_in_the_pods_namespace_which_its_containers_share(runtime: EmbeddedRuntime,
                                                                             pod: Pod) -> None:
    demo = await runtime.start(pod.config(name="app", image="kubelab/demo:2"))
    nginx = await runtime.start(pod.config(name="web", image="nginx:1.25"))
    page = await eventually(lambda: curl(pod.netns, "http://127.0.0.1:3000/"), timeout=15,
                            what="the demo app to answer on :3000 in the pod's namespace")
    assert page.startswith("kubelab demo v2\n")
    assert f"hostname: {pod.name}\n" in page
    assert await curl(pod.netns, "http://127.0.0.1:3000/healthz") == "ok\n"
    welcome = await eventually(lambda: curl(pod.netns, "http://127.0.0.1:80/"), timeout=15,
                               what="nginx to answer on :80")
    assert "<title>Welcome to nginx!</title>" in welcome

    sidecar = await runtime.start(pod.config(name="probe", command=(
        "sh", "-c", "wget -q -O - http://localhost:3000/readyz && wget -q -O - http://127.0.0.1/ | grep title")))
    status = await asyncio.wait_for(runtime.wait(sidecar.id), 15)
    assert (status.exit_code, status.reason) == (0, "Completed"), output(runtime, sidecar.id)
    assert output(runtime, sidecar.id) == ["ready", "<title>Welcome to nginx!</title>"]
    assert {s.id for s in await runtime.list(pod.uid)} == {demo.id, nginx.id, sidecar.id}
    await until_logged(runtime, demo.id, '"GET /readyz" 200')
    await until_logged(runtime, nginx.id, '"GET / HTTP/1.1" 200 615')


async def test_env_working_dir_and_hostname_are_the_configured_ones(runtime: EmbeddedRuntime, pod: Pod) -> None:
    os.environ["KL_AGENT_ONLY"] = "leak"
    try:
        started = await runtime.start(pod.config(
            command=("sh", "-c", 'echo "$GREETING from $HOSTNAME"; pwd; hostname; cat /etc/hostname; '
                     'echo "path=$PATH"; env | grep -c KL_AGENT_ONLY; ls -A /tmp | wc -l'),
            env=(("GREETING", "hi"), ("EMPTY", "")), working_dir="/srv/app"))
    finally:
        del os.environ["KL_AGENT_ONLY"]
    status = await asyncio.wait_for(runtime.wait(started.id), 10)
    lines = output(runtime, started.id)
    assert lines[:4] == [f"hi from {pod.name}", "/srv/app", pod.name, pod.name], lines
    assert lines[4].startswith("path=/opt/busybox/bin:")
    assert lines[5:] == ["0", "0"]  # nothing of the agent's env; an empty /tmp
    assert status.exit_code == 0


async def test_volumes_are_bound_read_only_where_asked(runtime: EmbeddedRuntime, pod: Pod, tmp_path: Path) -> None:
    config_dir = tmp_path / "configmap"
    config_dir.mkdir()
    (config_dir / "msg").write_text("from the host\n")
    scratch = tmp_path / "emptydir"
    scratch.mkdir()
    started = await runtime.start(pod.config(
        command=("sh", "-c", "cat /etc/config/msg; echo x > /etc/config/new; echo rc=$?; echo y > /scratch/out; "
                 "grep -E ' /etc/(config|resolv.conf) ' /proc/mounts | cut -d' ' -f2,4 | cut -d, -f1"),
        mounts=(Mount(config_dir, "/etc/config", read_only=True), Mount(scratch, "/scratch"))))
    await asyncio.wait_for(runtime.wait(started.id), 10)
    lines = log_lines(runtime, started.id)
    assert ("stdout", "from the host") in lines
    assert ("stdout", "rc=1") in lines
    assert any(stream == "stderr" and "Read-only file system" in text for stream, text in lines), lines
    assert ("stdout", "/etc/config ro") in lines and ("stdout", "/etc/resolv.conf rw") in lines
    assert not (config_dir / "new").exists()
    assert (scratch / "out").read_text() == "y\n"


async def test_exit_codes_and_start_errors(runtime: EmbeddedRuntime, pod: Pod) -> None:
    failing = await runtime.start(pod.config(command=("sh", "-c", "echo failing >&2; exit 3")))
    status = await asyncio.wait_for(runtime.wait(failing.id), 10)
    assert (status.exit_code, status.reason, status.signal) == (3, "Error", None)
    assert log_lines(runtime, failing.id) == [("stderr", "failing")]

    missing = await runtime.start(pod.config(name="typo", command=("no-such-binary", "--help")))
    assert (missing.state, missing.exit_code, missing.reason) == ("exited", 128, "StartError")
    assert missing.message == 'exec: "no-such-binary": executable file not found in $PATH'
    assert (await runtime.wait(missing.id)).reason == "StartError"

    with pytest.raises(ImagePullError) as caught:
        await runtime.start(pod.config(image="foo:1"))
    assert caught.value.reason == "ErrImagePull"
    assert caught.value.message == ('Failed to pull image "foo:1": image "foo:1" is not in kubelab\'s offline image '
                                    "catalog (nginx, busybox, kubelab/demo:TAG)")
    with pytest.raises(ImagePullError) as caught:
        await runtime.ensure_image("Bad:Name")
    assert caught.value.reason == "InvalidImageName"
    await runtime.ensure_image("kubelab/demo:slow-boot")


async def test_the_container_is_confined_to_its_namespaces_and_capabilities(runtime: EmbeddedRuntime, pod: Pod,
                                                                            tmp_path: Path) -> None:
    started = await runtime.start(pod.config(command=("sh", "-c", " ; ".join([
        "echo pids $(ls /proc | grep -c '^[0-9]')",  # sh, the $() subshell, ls, grep: nothing of the host
        "echo pid1 $(cat /proc/1/comm)",
        "grep CapEff /proc/self/status",
        "{ echo 1 > /proc/sys/net/ipv4/ip_forward; } 2>/dev/null || echo sysctl refused",
        "{ echo h > /proc/sysrq-trigger; } 2>/dev/null || echo sysrq refused",
        "echo keys $(wc -c < /proc/keys)",
        "mount -t tmpfs x /mnt 2>/dev/null || echo mount refused",
        "hostname other 2>/dev/null || echo hostname refused",
        f"ls {tmp_path} 2>&1 | grep -c pod",  # the runtime's and the test's files are not visible
        "echo /run: $(ls -A /run | wc -l)",
    ]))))
    await asyncio.wait_for(runtime.wait(started.id), 10)
    lines = output(runtime, started.id)
    assert lines[0] == "pids 4"
    assert lines[1] == "pid1 sh"
    assert lines[2] == "CapEff:\t00000000a00425fb"
    assert lines[3:] == ["sysctl refused", "sysrq refused", "keys 0", "mount refused", "hostname refused", "0",
                         "/run: 0"], lines


async def test_a_tty_and_an_open_stdin(runtime: EmbeddedRuntime, pod: Pod) -> None:
    tty = await runtime.start(pod.config(name="tty", command=("sh", "-c", "test -t 0 && test -t 1 && echo on a tty"),
                                         tty=True, stdin=True))
    await asyncio.wait_for(runtime.wait(tty.id), 10)
    assert [text.rstrip("\r") for text in output(runtime, tty.id)] == ["on a tty"]
    waiting = await runtime.start(pod.config(name="stdin", command=("sh", "-c", "read line; echo got $line"),
                                             stdin=True))
    await asyncio.sleep(0.5)
    assert (await runtime.status(waiting.id)).state == "running"  # its stdin stays open: no EOF
    fifo = runtime.layout.container(waiting.id) / "stdin"
    await asyncio.to_thread(fifo.write_text, "hello\n")  # what an attach would do
    status = await asyncio.wait_for(runtime.wait(waiting.id), 10)
    assert (status.exit_code, output(runtime, waiting.id)) == (0, ["got hello"])
    no_stdin = await runtime.start(pod.config(name="eof", command=("sh", "-c", "read line; echo eof $?")))
    await asyncio.wait_for(runtime.wait(no_stdin.id), 10)
    assert output(runtime, no_stdin.id) == ["eof 1"]


async def _attach(runtime: EmbeddedRuntime, pod: Pod, container_id: str, inputs: list[object],
                  stdin_once: bool = True) -> list[tuple[str, bytes]]:
    """Attach (agent/streams/attach.py) with `inputs` as the client's messages; what came out."""
    from agent.streams.attach import AttachSession
    from controlplane.api.v1 import streams_pb2

    queue: asyncio.Queue[object] = asyncio.Queue()
    for item in inputs:
        queue.put_nowait(item)
    out: list[tuple[str, bytes]] = []

    async def send(message: streams_pb2.ExecOutput) -> None:
        kind = message.WhichOneof("output")
        out.append((kind, getattr(message, kind)))

    async def exited() -> bool:
        return (await runtime.status(container_id)).state == "exited"

    attach_input = await runtime.attach_input(container_id)
    assert attach_input is not None
    await asyncio.wait_for(AttachSession(runtime.log_path(container_id), attach_input, stdin_once=stdin_once,
                                         exited=exited, receive=queue.get, send=send).run(), 20)
    return out


async def test_an_attach_feeds_stdin_and_its_end_to_the_containers_own_process(runtime: EmbeddedRuntime,
                                                                               pod: Pod) -> None:
    from controlplane.api.v1 import streams_pb2

    started = await runtime.start(pod.config(name="cat", command=("sh", "-c", "echo before; cat; echo after >&2"),
                                             stdin=True, stdin_once=True))
    await until_logged(runtime, started.id, "before")
    out = await _attach(runtime, pod, started.id, [streams_pb2.ExecInput(stdin=b"one\ntwo\n"),
                                                    streams_pb2.ExecInput(stdin_eof=True), None])
    stdout = b"".join(data for kind, data in out if kind == "stdout")
    assert stdout == b"before\none\ntwo\n"  # what it wrote before the attach too
    assert [data for kind, data in out if kind == "stderr"] == [b"after\n"]
    assert (await runtime.status(started.id)).exit_code == 0


async def test_an_attach_to_a_terminal_shows_an_unfinished_prompt_and_sizes_the_terminal(
        runtime: EmbeddedRuntime, pod: Pod) -> None:
    from controlplane.api.v1 import streams_pb2

    started = await runtime.start(pod.config(
        name="tty", command=("sh", "-c", "printf 'name? '; read name; echo hello $name; stty size"),
        stdin=True, stdin_once=True, tty=True))
    # The prompt has no newline: it is in the log at once, as a partial entry.
    await eventually(lambda: _logged_async(runtime, started.id, "name? "), timeout=10, what="the prompt")
    attach_input = await runtime.attach_input(started.id)
    assert attach_input is not None
    await attach_input.resize(100, 40)
    out = await _attach(runtime, pod, started.id, [streams_pb2.ExecInput(stdin=b"bob\n")])
    text = b"".join(data for _, data in out).decode().replace("\r", "")
    assert text.startswith("name? ") and "hello bob\n" in text and "40 100\n" in text, text


async def _logged_async(runtime: EmbeddedRuntime, container_id: str, text: str) -> bool:
    path = runtime.log_path(container_id)
    return path.exists() and text in path.read_text()


async def test_attaching_to_a_container_without_stdin_has_no_input(runtime: EmbeddedRuntime, pod: Pod) -> None:
    started = await runtime.start(pod.config(name="plain", command=("sleep", "30")))
    assert await runtime.attach_input(started.id) is None


# ---- stopping ----------------------------------------------------------------------------------------------

async def test_stop_sends_sigterm_which_a_handler_honours(runtime: EmbeddedRuntime, pod: Pod) -> None:
    started = await runtime.start(pod.config(command=(
        "sh", "-c", 'trap "echo got TERM; exit 0" TERM; echo ready; while true; do sleep 0.1; done')))
    await until_logged(runtime, started.id, "ready")
    begin = time.monotonic()
    status = await runtime.stop(started.id, grace_seconds=10)
    assert time.monotonic() - begin < 3
    assert (status.state, status.exit_code, status.reason) == ("exited", 0, "Completed")
    assert "got TERM" in output(runtime, started.id)


async def test_a_process_ignoring_sigterm_is_killed_after_the_grace(runtime: EmbeddedRuntime, pod: Pod) -> None:
    started = await runtime.start(pod.config(command=(
        "sh", "-c", 'trap "" TERM; echo ready; while true; do sleep 0.1; done')))
    await until_logged(runtime, started.id, "ready")
    begin = time.monotonic()
    status = await runtime.stop(started.id, grace_seconds=1)
    took = time.monotonic() - begin
    assert 1 <= took < 5
    assert (status.exit_code, status.signal, status.reason) == (137, 9, "Error")
    assert (await runtime.stop(started.id, grace_seconds=1)) == status  # stopping again changes nothing


@pytest.mark.parametrize(("image", "env", "url"), [
    ("kubelab/demo:1", (("PORT", "8080"),), "http://127.0.0.1:8080/healthz"),
    ("nginx", (), "http://127.0.0.1/"),
])
async def test_the_catalogs_servers_exit_0_promptly_on_sigterm(runtime: EmbeddedRuntime, pod: Pod, image: str,
                                                              env: tuple[tuple[str, str], ...], url: str) -> None:
    started = await runtime.start(pod.config(image=image, env=env))
    await eventually(lambda: curl(pod.netns, url), timeout=15, what=f"{image} to answer")
    begin = time.monotonic()
    status = await runtime.stop(started.id, grace_seconds=10)
    assert time.monotonic() - begin < 3
    assert (status.exit_code, status.reason) == (0, "Completed")


# ---- resources ---------------------------------------------------------------------------------------------

async def test_a_memory_hog_over_its_limit_is_oomkilled(runtime: EmbeddedRuntime, pod: Pod) -> None:
    if runtime.cgroups.version == "none":
        pytest.skip("no usable cgroup memory controller on this machine")
    started = await runtime.start(pod.config(
        command=(sys.executable, "-I", "-S", "-c", "data = b'x' * (256 * 2**20)"), memory_limit=16 * MIB))
    status = await asyncio.wait_for(runtime.wait(started.id), 20)
    assert (status.exit_code, status.signal, status.reason) == (137, 9, "OOMKilled")


async def test_limits_are_written_to_the_containers_cgroup(runtime: EmbeddedRuntime, pod: Pod) -> None:
    if runtime.cgroups.version == "none":
        pytest.skip("no usable cgroup controller on this machine")
    started = await runtime.start(pod.config(command=("sleep", "60"), memory_limit=128 * MIB,
                                             cpu_limit_millicores=700, cpu_request_millicores=400))
    cgroup = config_of(runtime, started)["cgroup"]
    assert isinstance(cgroup, dict)
    dirs = [Path(d) for d in cgroup["dirs"]]
    files = {p.name: p.read_text().strip() for d in dirs for p in d.iterdir() if p.is_file()
             and p.name in ("memory.limit_in_bytes", "cpu.cfs_quota_us", "cpu.shares", "memory.max", "cpu.max")}
    if runtime.cgroups.version == "v1":
        assert files == {"memory.limit_in_bytes": str(128 * MIB), "cpu.cfs_quota_us": "70000", "cpu.shares": "409"}
    else:
        assert files == {"memory.max": str(128 * MIB), "cpu.max": "70000 100000"}
    procs_in = {int(pid) for d in dirs for pid in (d / "cgroup.procs").read_text().split()}
    assert started.pid in procs_in
    await runtime.stop(started.id, grace_seconds=0)
    await runtime.remove(started.id)
    assert not any(d.exists() for d in dirs)


# ---- exec ----------------------------------------------------------------------------------------------------

async def test_exec_runs_in_the_container_with_stdin_and_returns_the_exit_code(runtime: EmbeddedRuntime,
                                                                               pod: Pod) -> None:
    started = await runtime.start(pod.config(
        command=("sh", "-c", "echo made-by-container > /tmp/marker; echo ready; exec sleep 3600"),
        env=(("FOO", "bar"),), working_dir="/work"))
    await until_logged(runtime, started.id, "ready")
    process = await runtime.exec(started.id, ["sh", "-c", 'cat; echo "$FOO $(hostname) $(pwd)"; cat /tmp/marker; '
                                                          "echo oops >&2; exit 7"], stdin=True, tty=False)
    out, err = await asyncio.wait_for(process.communicate(b"from stdin\n"), 10)
    assert process.returncode == 7
    assert out.decode().splitlines() == ["from stdin", f"bar {pod.name} /work", "made-by-container"]
    assert err == b"oops\n"

    process = await runtime.exec(started.id, ["sh", "-c", "test -t 0 && tty; ps -o pid,comm | grep -c sleep; "
                                                          "read line; echo got $line; exit 4"], stdin=True, tty=True)
    out, _ = await asyncio.wait_for(process.communicate(b"typed\n"), 10)
    assert process.returncode == 4
    lines = out.decode().splitlines()  # the terminal echoes "typed" whenever it arrives: order varies
    assert sorted(lines) == sorted(["/dev/pts/0", "1", "typed", "got typed"])

    cgroup = config_of(runtime, started)["cgroup"]
    assert isinstance(cgroup, dict)
    process = await runtime.exec(started.id, ["sh", "-c", "echo $$; exec sleep 30"], stdin=False, tty=False)
    try:
        assert process.stdout is not None
        inner = int(await asyncio.wait_for(process.stdout.readline(), 10))  # its pid in the container
        members = {int(p) for p in Path(cgroup["procs"][0]).read_text().split()} if cgroup["procs"] else set()
        assert process.pid not in members  # the helper does not count against the container
        assert len(members) in (0, 2)  # the container's process and the exec'd one
    finally:
        process.kill()  # SIGKILL to the helper: the command inside dies with it
        await asyncio.wait_for(process.wait(), 5)
    # dead: gone, or a zombie, as `sleep` (the container's PID 1) reaps no one, like in any container
    check = await runtime.exec(started.id, ["sh", "-c", f"cut -d' ' -f3 /proc/{inner}/stat 2>/dev/null || echo gone"],
                               stdin=False, tty=False)
    out, _ = await asyncio.wait_for(check.communicate(), 10)
    assert out in (b"Z\n", b"gone\n")

    missing = await runtime.exec(started.id, ["no-such-command"], stdin=False, tty=False)
    _, err = await asyncio.wait_for(missing.communicate(), 10)
    assert missing.returncode == 127
    assert err == (b"exec failed: unable to start container process: "
                   b'exec: "no-such-command": executable file not found in $PATH\n')

    await runtime.stop(started.id, grace_seconds=0)
    with pytest.raises(ContainerNotRunning):
        await runtime.exec(started.id, ["true"], stdin=False, tty=False)


# ---- surviving the agent -----------------------------------------------------------------------------------

async def test_a_new_runtime_on_the_same_state_adopts_running_containers(tmp_path: Path, runtime: EmbeddedRuntime,
                                                                        pod: Pod, cgroup_parent: str) -> None:
    started = await runtime.start(pod.config(command=(
        "sh", "-c", "echo up; while [ ! -f /tmp/stop ]; do sleep 0.1; done; echo down; exit 5")))
    del runtime  # the agent "restarts": nothing of the old object is used below
    adopter = EmbeddedRuntime(tmp_path / "state", cgroup_parent)
    (found,) = await adopter.list(pod.uid)
    assert (found.id, found.state, found.pid, found.name) == (started.id, "running", started.pid, "c")
    await until_logged(adopter, started.id, "up")
    process = await adopter.exec(started.id, ["touch", "/tmp/stop"], stdin=False, tty=False)
    assert await process.wait() == 0
    status = await asyncio.wait_for(adopter.wait(started.id), 10)
    assert (status.exit_code, status.reason) == (5, "Error")
    assert output(adopter, started.id) == ["up", "down"]


async def test_a_pod_removed_by_another_runtime_on_the_same_state_is_gone_for_this_one(
        tmp_path: Path, runtime: EmbeddedRuntime, pod: Pod, cgroup_parent: str) -> None:
    started = await runtime.start(pod.config(command=("true",)))
    await runtime.wait(started.id)
    assert [s.id for s in await runtime.list(pod.uid)] == [started.id]  # known to this runtime now
    await EmbeddedRuntime(tmp_path / "state", cgroup_parent).remove_pod(pod.uid)
    assert await runtime.list(pod.uid) == []
    with pytest.raises(ContainerNotFound):
        await runtime.status(started.id)


AGENT = """
import asyncio, sys
from pathlib import Path
from agent.runtime import EmbeddedRuntime, ContainerConfig

async def main(state, parent, netns, uid, hosts, resolv):
    runtime = EmbeddedRuntime(Path(state), parent)
    status = await runtime.start(ContainerConfig(
        pod_uid=uid, pod_namespace="default", pod_name="web-1", name="c", attempt=0, image="busybox",
        command=("sh", "-c", "echo up; while [ ! -f /tmp/stop ]; do sleep 0.1; done; exit 5"), args=(), env=(),
        working_dir="", mounts=(), netns_path=Path(netns), hostname="web-1", etc_hosts=Path(hosts),
        resolv_conf=Path(resolv)))
    print("started", status.id, flush=True)
    await asyncio.sleep(3600)

asyncio.run(main(*sys.argv[1:]))
"""

PR_SET_CHILD_SUBREAPER = 36


@pytest.fixture
def subreaper() -> Iterator[None]:
    """Orphans of this test's processes come to the test process (and are reaped by the runtime), not to PID 1."""
    libc = ctypes.CDLL(None, use_errno=True)
    assert libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    try:
        yield
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


async def test_containers_outlive_a_kill_9_of_the_agent(tmp_path: Path, runtime: EmbeddedRuntime, pod: Pod,
                                                        cgroup_parent: str, subreaper: None) -> None:
    agent = await asyncio.create_subprocess_exec(
        sys.executable, "-c", AGENT, str(tmp_path / "state"), cgroup_parent, f"/run/netns/{pod.netns}", pod.uid,
        str(pod.hosts), str(pod.resolv), cwd=REPO, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL)
    try:
        assert agent.stdout is not None
        line = b""
        while not line.startswith(b"started "):  # its structlog lines come first
            line = await asyncio.wait_for(agent.stdout.readline(), 30)
            assert line, "the agent exited before starting the container"
        container_id = line.decode().split()[1]
    finally:
        agent.kill()  # SIGKILL, by the pid we started
        await agent.wait()
    state = read_json(runtime.layout.state(container_id))
    monitor_pid, monitor_start = int(state["monitor_pid"]), state["monitor_start"]
    assert procs.is_alive(monitor_pid, monitor_start)
    await until_logged(runtime, container_id, "up")
    (found,) = await runtime.list(pod.uid)
    assert (found.id, found.state) == (container_id, "running")

    waiting = asyncio.create_task(runtime.wait(container_id))
    await asyncio.sleep(0.2)
    assert not waiting.done()
    process = await runtime.exec(container_id, ["touch", "/tmp/stop"], stdin=False, tty=False)
    assert await process.wait() == 0
    status = await asyncio.wait_for(waiting, 10)
    assert (status.exit_code, status.reason) == (5, "Error")
    assert procs.start_ticks(monitor_pid) is None
    assert not Path(f"/proc/{monitor_pid}").exists()  # reaped, not a zombie


async def test_a_killed_monitor_is_noticed(runtime: EmbeddedRuntime, pod: Pod, subreaper: None) -> None:
    started = await runtime.start(pod.config(command=("sleep", "3600")))
    state = state_of(runtime, started)
    monitor = procs.open_pidfd(int(state["monitor_pid"]), state["monitor_start"])  # type: ignore[arg-type]
    assert monitor is not None
    try:
        procs.send_signal(monitor, signal.SIGKILL)
        await pidwait.wait_exit(monitor)
        pidwait.reap(monitor)
    finally:
        os.close(monitor)
    assert (await runtime.status(started.id)).state == "running"  # unmonitored, but alive
    status = await runtime.stop(started.id, grace_seconds=0.5)
    assert (status.state, status.reason, status.exit_code) == ("exited", "ContainerStatusUnknown", 137)
    assert "monitor" in status.message


# ---- removing ----------------------------------------------------------------------------------------------

async def test_remove_keeps_the_log_until_remove_pod(runtime: EmbeddedRuntime, pod: Pod) -> None:
    first = await runtime.start(pod.config(command=("echo", "first")))
    await runtime.wait(first.id)
    second = await runtime.start(pod.config(command=("echo", "second"), attempt=1))
    await runtime.wait(second.id)
    await runtime.remove(first.id)
    await runtime.remove(first.id)  # again: nothing to do
    assert [s.id for s in await runtime.list(pod.uid)] == [second.id]
    with pytest.raises(ContainerNotFound):
        await runtime.status(first.id)
    assert not (runtime.layout.container(first.id) / "upper").exists()
    assert runtime.log_path(first.id).parent == runtime.log_path(second.id).parent

    async def exited() -> bool:
        return True

    previous = b"".join([c async for c in read_log(runtime.log_path(first.id), tail=None, timestamps=False,
                                                   follow=False, exited=exited)])
    assert previous == b"first\n"
    logs = [runtime.log_path(first.id), runtime.log_path(second.id)]
    await runtime.remove_pod(pod.uid)
    assert not any(path.exists() for path in logs)
    with pytest.raises(ContainerNotFound):
        runtime.log_path(first.id)
    assert await runtime.list(pod.uid) == []


async def test_only_the_current_and_previous_attempts_are_kept(runtime: EmbeddedRuntime, pod: Pod) -> None:
    attempts = []
    for attempt in range(4):
        started = await runtime.start(pod.config(command=("echo", f"attempt {attempt}"), attempt=attempt))
        attempts.append(await runtime.wait(started.id))
    other = await runtime.start(pod.config(name="other", command=("true",)))
    assert [(s.name, s.attempt) for s in await runtime.list(pod.uid)] == [("c", 2), ("c", 3), ("other", 0)]
    assert output(runtime, attempts[3].id) == ["attempt 3"]
    assert not runtime.layout.container(attempts[0].id).exists()
    assert sorted(p.name for p in runtime.log_path(attempts[3].id).parent.iterdir()) == ["2.log", "3.log"]
    await runtime.wait(other.id)


async def test_remove_refuses_a_running_container(runtime: EmbeddedRuntime, pod: Pod) -> None:
    started = await runtime.start(pod.config(command=("sleep", "60")))
    with pytest.raises(ContainerNotRunning):
        await runtime.remove(started.id)


async def test_remove_pod_leaves_no_mount_cgroup_or_process(runtime: EmbeddedRuntime, pod: Pod) -> None:
    statuses = [await runtime.start(pod.config(name=name, command=("sleep", "3600"), memory_limit=64 * MIB))
                for name in ("a", "b")]
    container_dirs = [str(runtime.layout.container(s.id)) for s in statuses]
    host_mounts = Path("/proc/self/mountinfo").read_text()
    assert not any(d in host_mounts for d in container_dirs)  # the overlay lives in the container's namespace
    inside = Path(f"/proc/{statuses[0].pid}/mountinfo").read_text()
    assert " / " in inside and "overlay" in inside
    states = [state_of(runtime, s) for s in statuses]
    cgroups = [Path(d) for s in statuses for d in config_of(runtime, s)["cgroup"]["dirs"]]  # type: ignore[index]
    pod_cgroups = [Path(d) for d in runtime.cgroups.pod_dirs(pod.uid)]
    if runtime.cgroups.version != "none":
        assert cgroups and all(d.is_dir() for d in cgroups + pod_cgroups)

    await runtime.remove_pod(pod.uid)

    assert not any(str(runtime.state_dir) in line for line in Path("/proc/self/mountinfo").read_text().splitlines())
    assert not any(d.exists() for d in cgroups + pod_cgroups)
    for state in states:
        for pid, start in ((state["pid"], state["pid_start"]), (state["monitor_pid"], state["monitor_start"])):
            assert not procs.is_alive(int(pid), start), f"process {pid} is still there"  # type: ignore[call-overload]
    assert not any(Path(d).exists() for d in container_dirs)
    assert not any(runtime.layout.logs.iterdir())
    assert await runtime.list() == []
