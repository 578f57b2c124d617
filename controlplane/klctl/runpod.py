"""`klctl run`: one pod of an image, as modern kubectl makes it (labels run=NAME, the container named
after the pod, the words after `--` as its arguments or, with --command, its command).

With -i or --attach, klctl waits for the pod to run (or finish), then attaches to its container's
own process (the Streams service's PodAttach: its output from its first line, klctl's stdin into its
stdin with -i, klctl's terminal as its terminal with -t) until it ends; a pod already finished
shows its logs instead, as kubectl does. With a restart policy of Never or OnFailure klctl then
waits for the pod to finish and exits with the container's exit status (`pod default/t terminated
(Error)`); with --rm it deletes the pod at the end (`pod "t" deleted`).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.v1 import core_pb2
from controlplane.client.streams import StreamsClient
from controlplane.klctl import printers
from controlplane.klctl.context import Context, UsageError
from controlplane.klctl.rollouts import parse_duration
from controlplane.klctl.verbs_streams import _terminal_size, run_session, use_terminal
from controlplane.klctl.verbs_write import _create

POD = kinds.by_kind("Pod")
_FINISHED = ("Succeeded", "Failed")


def parse_labels(text: str) -> dict[str, str]:
    labels: dict[str, str] = {}
    for part in filter(None, text.split(",")):
        key, sep, value = part.partition("=")
        if not sep or not key:
            raise UsageError(f"invalid label spec: {part}")
        labels[key] = value
    return labels


def new_pod(args: argparse.Namespace, namespace: str) -> core_pb2.Pod:
    pod = core_pb2.Pod(api_version="v1", kind="Pod")
    pod.metadata.name = args.name
    pod.metadata.namespace = namespace
    pod.metadata.labels.update(parse_labels(args.labels) if args.labels else {"run": args.name})
    container = pod.spec.containers.add(name=args.name, image=args.image)
    words = list(args.command or [])
    if args.as_command:
        if not words:
            raise UsageError("NAME and command are required when --command is given: klctl run NAME "
                             "--image=IMAGE --command -- COMMAND [args...]")
        container.command.extend(words)
    else:
        container.args.extend(words)
    for pair in args.env:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"invalid env: {pair}")
        container.env.add(name=key, value=value)
    if args.port >= 0:
        container.ports.add(container_port=args.port)
    container.stdin = args.stdin
    container.stdin_once = args.stdin
    container.tty = args.tty
    pod.spec.restart_policy = args.restart
    return pod


async def run_verb(context: Context, args: argparse.Namespace) -> int:
    if args.tty and not args.stdin:
        raise UsageError("-i/--stdin is required for containers with -t/--tty=true")
    attach = args.stdin or args.attach
    if args.rm and not attach:
        raise UsageError("--rm should only be used for attached containers")
    pod = new_pod(args, context.namespace)
    if not attach or args.dry_run != "none":
        return await _create(context, pod, args)
    await context.client.create(pod)
    try:
        return await _attached(context, args)
    finally:
        if args.rm:
            await _remove(context, args.name)


async def _watch_pod(context: Context, name: str, done: Any) -> core_pb2.Pod:
    """The pod once `done(pod)` holds (watching it); UsageError if it is deleted meanwhile."""
    current = await context.client.get(POD, context.namespace, name)
    assert isinstance(current, core_pb2.Pod)
    if done(current):
        return current
    async for event in context.client.watch(POD, context.namespace, resource_version=current.metadata.resource_version,
                                            field_selector=f"metadata.name={name}"):
        if event.type == "DELETED":
            raise UsageError(f"pod {context.namespace}/{name} was deleted")
        if isinstance(event.object, core_pb2.Pod) and done(event.object):
            return event.object
    raise UsageError(f"the watch of pod {context.namespace}/{name} ended")


def _running_and_ready_or_finished(pod: core_pb2.Pod) -> bool:
    ready = any(c.type == "Ready" and c.status == "True" for c in pod.status.conditions)
    return pod.status.phase in _FINISHED or (pod.status.phase == "Running" and ready)


def _finished(pod: core_pb2.Pod) -> bool:
    return pod.status.phase in _FINISHED


async def _attached(context: Context, args: argparse.Namespace) -> int:
    timeout = parse_duration(args.pod_running_timeout) or None
    try:
        pod = await asyncio.wait_for(_watch_pod(context, args.name, _running_and_ready_or_finished), timeout)
    except TimeoutError:
        raise UsageError("timed out waiting for the condition") from None
    if pod.status.phase in _FINISHED:
        await _show_output(context, pod, follow=False)
    else:
        try:
            await _attach_to(context, args)
        except ApiError as error:
            if error.reason is Reason.UNAVAILABLE:
                raise
            print(f"warning: couldn't attach to pod/{args.name}, falling back to streaming logs: {error.message}",
                  file=sys.stderr)
            await _show_output(context, pod, follow=True)
    if args.restart == "Always":
        return 0
    pod = await _watch_pod(context, args.name, _finished)
    return _exit_status(pod)


async def _attach_to(context: Context, args: argparse.Namespace) -> None:
    """The container's output until it exits, with our stdin (and terminal) as its own."""
    use_tty = use_terminal(args.tty, quiet=args.quiet)
    session = await StreamsClient(context.client.channel).attach(
        context.namespace, args.name, stdin=args.stdin, tty=use_tty, size=_terminal_size() if use_tty else None)
    if use_tty and args.stdin and not args.quiet:
        print("If you don't see a command prompt, try pressing enter.", file=sys.stderr, flush=True)
    await run_session(session, stdin=args.stdin, tty=use_tty)


async def _show_output(context: Context, pod: core_pb2.Pod, *, follow: bool) -> None:
    out = sys.stdout.buffer
    async for data in StreamsClient(context.client.channel).logs(context.namespace, pod.metadata.name,
                                                                 follow=follow):
        out.write(data)
        out.flush()


def _exit_status(pod: core_pb2.Pod) -> int:
    where = f"pod {pod.metadata.namespace}/{pod.metadata.name}"
    if pod.status.phase == "Succeeded":
        return 0
    if pod.status.phase != "Failed":
        print(f"error: {where} left in phase {pod.status.phase}", file=sys.stderr)
        return 1
    statuses = pod.status.container_statuses
    if not statuses or not statuses[0].state.HasField("terminated") or statuses[0].state.terminated.exit_code == 0:
        print(f"error: {where} failed with unknown exit code", file=sys.stderr)
        return 1
    terminated = statuses[0].state.terminated
    print(f"{where} terminated ({terminated.reason})" + (f"\n{terminated.message}" if terminated.message else ""),
          file=sys.stderr)
    return terminated.exit_code


async def _remove(context: Context, name: str) -> None:
    try:
        deleted, pending = await context.client.delete(POD, context.namespace, name)
    except ApiError as error:
        if error.reason is Reason.NOT_FOUND:
            return
        raise
    print(f'pod "{name}" deleted', flush=True)
    if pending:
        try:
            await asyncio.wait_for(_gone(context, deleted), 60)
        except TimeoutError:
            print(f"error: timed out waiting for the deletion of {printers.name_line(POD, deleted)}",
                  file=sys.stderr)


async def _gone(context: Context, pod: Any) -> None:
    async for event in context.client.watch(POD, context.namespace, resource_version=pod.metadata.resource_version,
                                            field_selector=f"metadata.name={pod.metadata.name}"):
        if event.type == "DELETED":
            return
