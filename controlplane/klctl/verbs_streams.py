"""klctl's streaming verbs: logs, exec, port-forward, through the API server to the pod's node."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import termios
import threading
import tty
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from controlplane.api import kinds
from controlplane.api.errors import ApiError
from controlplane.api.labels import SelectorError, selector_from_label_selector
from controlplane.api.v1 import core_pb2
from controlplane.client.streams import ExecSession, StreamsClient, forward_connection
from controlplane.klctl.context import Context, UsageError

POD = kinds.by_kind("Pod")
DEFAULT_CONTAINER_ANNOTATION = "kubectl.kubernetes.io/default-container"
_CHUNK = 32 * 1024


def add_parsers(verbs: Any) -> None:
    logs = verbs.add_parser("logs", help="print the logs of a container in a pod")
    logs.add_argument("pod", metavar="POD | TYPE/NAME")
    logs.add_argument("legacy_container", nargs="?", metavar="CONTAINER", help=argparse.SUPPRESS)
    logs.add_argument("-c", "--container", default="", help="the container (default: the pod's only or first)")
    logs.add_argument("-f", "--follow", action="store_true", help="keep printing as the container writes")
    logs.add_argument("-p", "--previous", action="store_true",
                      help="the logs of the container's previous instance, if it restarted")
    logs.add_argument("--tail", type=int, default=-1, help="only the last N lines (-1: all)")
    logs.add_argument("--timestamps", action="store_true", help="prefix each line with the time it was written")
    logs.set_defaults(run=logs_verb)

    execute = verbs.add_parser("exec", help="run a command in a container (klctl exec POD -- COMMAND)",
                               usage="klctl exec [-i] [-t] POD [-c CONTAINER] -- COMMAND [args...]")
    execute.add_argument("words", nargs="+", metavar="POD", help="the pod (or TYPE/NAME)")
    execute.add_argument("-c", "--container", default="", help="the container (default: the pod's only or first)")
    execute.add_argument("-i", "--stdin", action="store_true", help="pass klctl's stdin to the command")
    execute.add_argument("-t", "--tty", action="store_true", help="run the command on a terminal (with -i)")
    execute.add_argument("-q", "--quiet", action="store_true", help="print only what the command prints")
    # Everything after `--` is the command: klctl's parser puts it in `command` (see main.py).
    execute.set_defaults(run=exec_verb, command=None, takes_command=True)

    forward = verbs.add_parser("port-forward", help="forward local ports to a pod")
    forward.add_argument("pod", metavar="POD | TYPE/NAME")
    forward.add_argument("ports", nargs="+", metavar="[LOCAL_PORT:]REMOTE_PORT")
    forward.add_argument("--address", default="localhost",
                         help="local addresses to listen on, comma-separated (localhost: 127.0.0.1 and ::1)")
    forward.set_defaults(run=port_forward_verb)


# ---------------------------------------------------------------- which pod, which container

async def resolve_pod(context: Context, word: str, *, announce: bool = False) -> core_pb2.Pod:
    """`web`, `pod/web`, or `deployment/web` (a Running pod that the workload or service selects)."""
    kind_word, slash, name = word.rpartition("/")
    if not slash:
        name = word
    if not name:
        raise UsageError(f"arguments in resource/name form must have a single resource and name (got {word!r})")
    kind = kinds.resolve(kind_word) if kind_word else POD
    if kind.kind == "Pod":
        pod = await context.client.get(POD, context.namespace, name)
        assert isinstance(pod, core_pb2.Pod)
        return pod
    owner = await context.client.get(kind, context.namespace, name)
    selector = _selector_of(owner)
    if selector is None:
        raise UsageError(f"cannot attach to {kind.kind}: selector for {kind.kind} not implemented")
    pods, _ = await context.client.list(POD, context.namespace, label_selector=selector)
    candidates = sorted((p for p in pods if isinstance(p, core_pb2.Pod)), key=_pod_preference)
    if not candidates:
        raise UsageError(f"no pods found for {word} (selector {selector})")
    if announce and len(candidates) > 1:
        print(f"Found {len(candidates)} pods, using pod/{candidates[0].metadata.name}", file=sys.stderr)
    return candidates[0]


def _selector_of(owner: Any) -> str | None:
    if isinstance(owner, core_pb2.Service):
        return ",".join(f"{k}={v}" for k, v in sorted(owner.spec.selector.items())) or None
    spec = getattr(owner, "spec", None)
    if spec is None or not spec.HasField("selector"):
        return None
    selector = spec.selector
    try:
        return str(selector_from_label_selector(
            selector.match_labels, [(e.key, e.operator, list(e.values)) for e in selector.match_expressions]))
    except SelectorError as error:
        raise UsageError(str(error)) from None


def _pod_preference(pod: core_pb2.Pod) -> tuple[bool, bool, str, str]:
    """Running and ready pods first, then the oldest, as kubectl picks one pod of many."""
    ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)
    return (pod.status.phase != "Running", not ready, pod.metadata.creation_timestamp, pod.metadata.name)


def default_container(pod: core_pb2.Pod, requested: str, *, quiet: bool = False) -> str:
    """The container named, or the default one as kubectl picks it: the one its annotation names,
    else the first, saying so when there was a choice (`Defaulted container "web" out of: web, log`)."""
    if requested:
        return requested
    names = [c.name for c in pod.spec.containers]
    if not names:
        raise UsageError(f"pod {pod.metadata.namespace}/{pod.metadata.name} does not have any containers")
    annotated = pod.metadata.annotations.get(DEFAULT_CONTAINER_ANNOTATION, "")
    if annotated:
        if annotated in names or annotated in (c.name for c in pod.spec.init_containers):
            return annotated
        print(f'Default container name "{annotated}" not found in pod {pod.metadata.name}', file=sys.stderr)
    if not quiet and (len(names) > 1 or pod.spec.init_containers):
        listed = ", ".join([*names, *(f"{c.name} (init)" for c in pod.spec.init_containers)])
        print(f'Defaulted container "{names[0]}" out of: {listed}', file=sys.stderr)
    return names[0]


def _streams(context: Context) -> StreamsClient:
    return StreamsClient(context.client.channel)


# ---------------------------------------------------------------- logs

async def logs_verb(context: Context, args: argparse.Namespace) -> int:
    pod = await resolve_pod(context, args.pod, announce=True)
    container = default_container(pod, args.container or args.legacy_container or "")
    out = sys.stdout.buffer
    try:
        async for data in _streams(context).logs(
                context.namespace, pod.metadata.name, container=container, follow=args.follow,
                previous=args.previous, tail_lines=args.tail, timestamps=args.timestamps):
            out.write(data)
            out.flush()
    except BrokenPipeError:  # `klctl logs web | head`: the reader has seen enough
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # so the final flush is quiet
    return 0


# ---------------------------------------------------------------- exec

async def exec_verb(context: Context, args: argparse.Namespace) -> int:
    target, *legacy = args.words
    command: list[str] = args.command if args.command is not None else legacy
    if args.command is not None and legacy:
        raise UsageError(f"exec takes one pod and a command after --, got {' '.join(args.words)!r} before --")
    if args.command is None and legacy:
        print("klctl exec [POD] [COMMAND] is DEPRECATED and will be removed in a future version. "
              "Use klctl exec [POD] -- [COMMAND] instead.", file=sys.stderr)
    if not command:
        raise UsageError("you must specify at least one command for the container")
    pod = await resolve_pod(context, target)
    if pod.status.phase in ("Succeeded", "Failed"):
        raise UsageError(f"cannot exec into a container in a completed pod; current phase is {pod.status.phase}")
    container = default_container(pod, args.container, quiet=args.quiet)
    use_tty = use_terminal(args.tty and args.stdin, quiet=args.quiet)
    size = _terminal_size() if use_tty else None
    session = await _streams(context).exec(context.namespace, pod.metadata.name, command, container=container,
                                          stdin=args.stdin, tty=use_tty, size=size)
    await run_session(session, stdin=args.stdin, tty=use_tty)
    if session.exit_code is None:
        raise UsageError("the exec ended without an exit status (connection lost?)")
    if session.exit_code != 0:
        print(f"command terminated with exit code {session.exit_code}", file=sys.stderr)
    return session.exit_code


def use_terminal(wanted: bool, *, quiet: bool) -> bool:
    """Whether a session gets a terminal: when asked for and our stdin is one (else kubectl's warning)."""
    if wanted and not os.isatty(sys.stdin.fileno()):
        if not quiet:
            print("Unable to use a TTY - input is not a terminal or the right kind of file", file=sys.stderr)
        return False
    return wanted


async def run_session(session: ExecSession, *, stdin: bool, tty: bool) -> None:
    """An exec's or attach's streams to and from ours (our terminal raw, with `tty`) until it ends."""
    try:
        with _raw_terminal(tty):
            await _attach(session, stdin=stdin, tty=tty)
    except* ApiError as errors:
        raise errors.exceptions[0] from None
    finally:
        session.cancel()


async def _attach(session: ExecSession, *, stdin: bool, tty: bool) -> None:
    """The command's output to ours until it ends; our stdin and terminal size to the command."""
    loop = asyncio.get_running_loop()
    async with asyncio.TaskGroup() as group:
        feeder = group.create_task(_feed_stdin(session)) if stdin else None
        if tty:
            loop.add_signal_handler(signal.SIGWINCH, lambda: group.create_task(
                session.resize(*(_terminal_size() or (0, 0)))))
        try:
            async for stream, data in session.output():
                target = sys.stdout.buffer if stream == "stdout" else sys.stderr.buffer
                target.write(data)
                target.flush()
        finally:
            if tty:
                loop.remove_signal_handler(signal.SIGWINCH)
            if feeder is not None:
                feeder.cancel()


async def _feed_stdin(session: ExecSession) -> None:
    """klctl's stdin to the command, then end-of-input. A thread reads it, so any kind of stdin
    (terminal, pipe, file) works and the event loop never blocks on it."""
    loop = asyncio.get_running_loop()
    chunks: asyncio.Queue[bytes] = asyncio.Queue(maxsize=16)
    fd = sys.stdin.fileno()

    def read() -> None:
        while True:
            try:
                data = os.read(fd, _CHUNK)
            except OSError:
                data = b""
            try:  # waits while the queue is full: stdin is read no faster than it is sent
                asyncio.run_coroutine_threadsafe(chunks.put(data), loop).result()
            except Exception:  # the loop is gone: klctl is exiting
                return
            if not data:
                return

    threading.Thread(target=read, name="klctl-stdin", daemon=True).start()
    while data := await chunks.get():
        await session.write_stdin(data)
    await session.close_stdin()


def _terminal_size() -> tuple[int, int] | None:
    try:
        size = os.get_terminal_size(sys.stdout.fileno())
    except OSError:
        return None
    return size.columns, size.lines


@contextlib.contextmanager
def _raw_terminal(enabled: bool) -> Iterator[None]:
    """The local terminal in raw mode (keys go to the remote terminal as typed), restored after."""
    if not enabled:
        yield
        return
    fd = sys.stdin.fileno()
    saved = termios.tcgetattr(fd)
    tty.setraw(fd)
    try:
        yield
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


# ---------------------------------------------------------------- port-forward

@dataclass(frozen=True, slots=True)
class PortMapping:
    local: int  # 0: a free port, chosen when listening
    remote: int | str  # a number, or the name of one of the pod's container ports


def parse_port_mapping(spec: str) -> PortMapping:
    """`8080:80` -> 8080 to 80; `:80` -> a free local port to 80; `80` -> 80 to 80; `8080:http`."""
    parts = spec.split(":")
    if len(parts) == 1:
        local_text = remote_text = parts[0]
    elif len(parts) == 2:
        local_text, remote_text = parts[0] or "0", parts[1]
    else:
        raise UsageError(f"invalid port format '{spec}'")
    if not (local_text.isdigit() and int(local_text) <= 65535):
        raise UsageError(f"error parsing local port '{local_text}': not a port number (0-65535)")
    local = int(local_text)
    if remote_text.isdigit():
        remote: int | str = int(remote_text)
        if not 0 < int(remote_text) <= 65535:
            raise UsageError("remote port must be > 0" if int(remote_text) == 0 else
                             f"error parsing remote port '{remote_text}': not a port number (1-65535)")
    elif remote_text and remote_text.replace("-", "").isalnum() and len(parts) == 2:
        remote = remote_text
    else:
        raise UsageError(f"error parsing remote port '{remote_text}': not a port number or name")
    return PortMapping(local, remote)


def resolve_named_port(pod: core_pb2.Pod, mapping: PortMapping) -> tuple[int, int]:
    if isinstance(mapping.remote, int):
        return mapping.local, mapping.remote
    for container in pod.spec.containers:
        for port in container.ports:
            if port.name == mapping.remote:
                return mapping.local, port.container_port
    raise UsageError(f"Pod '{pod.metadata.name}' does not have a named port '{mapping.remote}'")


def _listen_addresses(address: str) -> list[str]:
    hosts: list[str] = []
    for word in address.split(","):
        word = word.strip()
        hosts.extend(["127.0.0.1", "::1"] if word == "localhost" else [word])
    return hosts


async def port_forward_verb(context: Context, args: argparse.Namespace) -> int:
    pod = await resolve_pod(context, args.pod)
    mappings = [resolve_named_port(pod, parse_port_mapping(spec)) for spec in args.ports]
    if pod.status.phase != "Running":
        raise UsageError(f"unable to forward port because pod is not running. Current status={pod.status.phase}")
    hosts = _listen_addresses(args.address)
    async with asyncio.TaskGroup() as group:
        servers: list[asyncio.Server] = []
        try:
            for local, remote in mappings:
                forwarder = _Forwarder(group, _streams(context), context.namespace, pod.metadata.name, local, remote)
                servers.extend(await forwarder.listen(hosts))
            await asyncio.Event().wait()  # until klctl is interrupted
        finally:
            for server in servers:
                server.close()
    return 0


class _Forwarder:
    """One LOCAL:REMOTE mapping: its listeners, and one forwarded connection per accepted one."""

    def __init__(self, group: asyncio.TaskGroup, streams: StreamsClient, namespace: str, pod: str, local: int,
                 remote: int) -> None:
        self.group, self.streams, self.namespace, self.pod = group, streams, namespace, pod
        self.local, self.remote = local, remote

    async def listen(self, hosts: list[str]) -> list[asyncio.Server]:
        servers: list[asyncio.Server] = []
        failures: list[str] = []
        for host in hosts:
            try:
                server = await asyncio.start_server(self.accept, host, self.local)
            except OSError as error:
                failures.append(f"listen tcp {_show(host, self.local)}: bind: "
                                f"{(error.strerror or str(error)).lower()}")
                continue
            if self.local == 0:  # the free port chosen for the first address serves the others too
                self.local = server.sockets[0].getsockname()[1]
            servers.append(server)
            print(f"Forwarding from {_show(host, self.local)} -> {self.remote}", flush=True)
        if not servers:
            print(f"Unable to listen on port {self.local}: {'; '.join(failures)}", file=sys.stderr)
            raise UsageError(f"unable to listen on any of the requested ports: [{{{self.local} {self.remote}}}]")
        return servers

    def accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.group.create_task(self.handle(reader, writer))

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        print(f"Handling connection for {self.local}", flush=True)
        try:
            await forward_connection(self.streams, self.namespace, self.pod, self.remote, reader, writer)
        except ApiError as error:
            print(f"an error occurred forwarding {self.local} -> {self.remote}: {error.message}", file=sys.stderr,
                  flush=True)


def _show(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
