"""klctl's workload verbs: create deployment, run, scale, set image, rollout status|history|undo|
pause|resume|restart, worded as kubectl words them."""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.kinds import Kind
from controlplane.api.v1 import apps_pb2, core_pb2
from controlplane.controllers.ownership import controller_of
from controlplane.klctl import describe as describing
from controlplane.klctl import printers, rollouts
from controlplane.klctl.context import Context, UsageError
from controlplane.klctl.runpod import run_verb
from controlplane.klctl.verbs_write import _add_dry_run, _create

DEPLOYMENT = kinds.by_kind("Deployment")
REPLICA_SET = kinds.by_kind("ReplicaSet")
SCALABLE = ("Deployment", "ReplicaSet", "StatefulSet")
WITH_POD_TEMPLATE = ("Deployment", "ReplicaSet", "StatefulSet", "Pod")
_NAME_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def add_parsers(verbs: Any, create_kinds: Any) -> None:
    deployment = create_kinds.add_parser("deployment", aliases=["deploy"], help="create a deployment of an image")
    deployment.add_argument("name")
    deployment.add_argument("--image", action="append", default=[], required=True,
                            help="the image of a container (repeatable: one container each)")
    deployment.add_argument("--replicas", type=int, default=1, help="number of replicas")
    deployment.add_argument("--port", type=int, default=-1, help="the port the first container exposes")
    _add_dry_run(deployment)
    deployment.set_defaults(run=create_deployment_verb, command=None, takes_command=True)

    run = verbs.add_parser("run", help="run a pod of an image (klctl run NAME --image I [-- ARGS])",
                           usage="klctl run NAME --image=IMAGE [--env=K=V] [--port=P] [-i] [-t] [--rm] "
                                 "[--restart=Never] [--command] -- [COMMAND] [args...]")
    run.add_argument("name")
    run.add_argument("--image", required=True, help="the container's image")
    run.add_argument("--port", type=int, default=-1, help="the port the container exposes")
    run.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="an env var (repeatable)")
    run.add_argument("-l", "--labels", default="", help="labels, KEY=VALUE[,KEY=VALUE] (default run=NAME)")
    run.add_argument("--restart", default="Always", choices=["Always", "OnFailure", "Never"],
                     help="the pod's restart policy")
    run.add_argument("--command", dest="as_command", action="store_true",
                     help="the words after -- are the command (not the image's command's arguments)")
    run.add_argument("-i", "--stdin", action="store_true", help="keep stdin open and attach to it")
    run.add_argument("-t", "--tty", action="store_true", help="allocate a terminal for the container")
    run.add_argument("--attach", action="store_true", help="wait for the pod to run, then attach to it")
    run.add_argument("--rm", action="store_true", help="delete the pod after it exits (attached only)")
    run.add_argument("-q", "--quiet", action="store_true", help="print only what the container prints")
    run.add_argument("--pod-running-timeout", default="1m", help="how long to wait for the pod to run")
    _add_dry_run(run)
    run.set_defaults(run=run_verb, command=None, takes_command=True)

    scale = verbs.add_parser("scale", help="set the replicas of a deployment, replica set or stateful set")
    scale.add_argument("targets", nargs="+", metavar="TYPE NAME | TYPE/NAME")
    scale.add_argument("--replicas", type=int, required=True, help="the new number of replicas")
    scale.add_argument("--current-replicas", type=int, default=-1,
                       help="only scale if the current replicas are this many")
    scale.set_defaults(run=scale_verb)

    set_verb = verbs.add_parser("set", help="change a field of objects")
    what = set_verb.add_subparsers(dest="what", metavar="FIELD", parser_class=type(set_verb))
    image = what.add_parser("image", help="change container images (klctl set image deploy/web web=nginx:1.25)")
    image.add_argument("words", nargs="+", metavar="TYPE NAME | TYPE/NAME ... CONTAINER=IMAGE ...")
    image.set_defaults(run=set_image_verb)

    rollout_parser = verbs.add_parser("rollout", help="manage the rollout of a deployment")
    actions = rollout_parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(rollout_parser))
    status = actions.add_parser("status", help="wait for the rollout to finish")
    status.add_argument("targets", nargs="+", metavar="TYPE NAME | TYPE/NAME")
    status.add_argument("-w", "--watch", default="true", choices=["true", "false"],
                        help="keep watching until the rollout is done")
    status.add_argument("--timeout", default="0s", help="give up after this long (0: never)")
    status.add_argument("--revision", type=int, default=0, help="wait for this revision")
    status.set_defaults(run=rollout_status_verb)
    history = actions.add_parser("history", help="the revisions of a deployment")
    history.add_argument("targets", nargs="+", metavar="TYPE NAME | TYPE/NAME")
    history.add_argument("--revision", type=int, default=0, help="show this revision's pod template")
    history.set_defaults(run=rollout_history_verb)
    undo = actions.add_parser("undo", help="go back to the previous (or a given) revision")
    undo.add_argument("targets", nargs="+", metavar="TYPE NAME | TYPE/NAME")
    undo.add_argument("--to-revision", type=int, default=0, help="the revision to go back to (0: the previous)")
    undo.set_defaults(run=rollout_undo_verb)
    for action, verb in (("pause", rollout_pause_verb), ("resume", rollout_resume_verb),
                         ("restart", rollout_restart_verb)):
        parser = actions.add_parser(action, help=f"{action} the rollout of a deployment")
        parser.add_argument("targets", nargs="+", metavar="TYPE NAME | TYPE/NAME")
        parser.set_defaults(run=verb)


# ---------------------------------------------------------------------------------------- targets


def targets_of(words: list[str]) -> list[tuple[Kind, str]]:
    """`deployment web`, `deploy/web`, `deploy/web rs/web-1`, `deployment web api` -> [(kind, name)]."""
    if "/" in words[0]:
        found = []
        for word in words:
            kind_word, slash, name = word.partition("/")
            if not slash or not name:
                raise UsageError(f"arguments in resource/name form must have a single resource and name "
                                 f"(got {word!r})")
            found.append((kinds.resolve(kind_word), name))
        return found
    if len(words) < 2:
        raise UsageError("required resource not specified")
    kind = kinds.resolve(words[0])
    return [(kind, name) for name in words[1:]]


def _only(kind: Kind, allowed: tuple[str, ...], what: str) -> None:
    if kind.kind not in allowed:
        raise UsageError(f"no {what} has been implemented for {kind.kind.lower()}")


async def _get(context: Context, kind: Kind, name: str) -> Any:
    return await context.client.get(kind, context.scope(kind), name)


# ---------------------------------------------------------------------------------------- create deployment


def new_deployment(name: str, namespace: str, images: list[str], replicas: int, port: int,
                   command: list[str] | None) -> apps_pb2.Deployment:
    """The Deployment `kubectl create deployment` makes: label app=NAME on it, its selector and pods."""
    deployment = apps_pb2.Deployment(api_version="apps/v1", kind="Deployment")
    deployment.metadata.name = name
    deployment.metadata.namespace = namespace
    deployment.metadata.labels["app"] = name
    spec = deployment.spec
    spec.replicas = replicas
    spec.selector.match_labels["app"] = name
    spec.template.metadata.labels["app"] = name
    for image in images:
        suffix = "".join(secrets.choice(_NAME_ALPHABET) for _ in range(5))
        container = spec.template.spec.containers.add(name=rollouts.container_name(image, suffix), image=image)
        container.command.extend(command or [])
    if port >= 0 and spec.template.spec.containers:
        spec.template.spec.containers[0].ports.add(container_port=port)
    return deployment


async def create_deployment_verb(context: Context, args: argparse.Namespace) -> int:
    if args.replicas < 0:
        raise UsageError(f"--replicas must be 0 or more, got {args.replicas}")
    deployment = new_deployment(args.name, context.namespace, args.image, args.replicas, args.port, args.command)
    return await _create(context, deployment, args)


# ---------------------------------------------------------------------------------------- scale


async def scale_verb(context: Context, args: argparse.Namespace) -> int:
    if args.replicas < 0:
        raise UsageError("The --replicas=COUNT flag is required, and COUNT must be greater than or equal to 0")
    targets = targets_of(args.targets)
    for kind, _ in targets:
        _only(kind, SCALABLE, "scaler")
    for kind, name in targets:
        patch: dict[str, Any] = {"spec": {"replicas": args.replicas}}
        if args.current_replicas >= 0:
            current = await _get(context, kind, name)
            wanted = current.spec.replicas if current.spec.HasField("replicas") else 1
            if wanted != args.current_replicas:
                raise UsageError(f"Expected replicas to be {args.current_replicas}, was {wanted}")
            patch["metadata"] = {"resourceVersion": current.metadata.resource_version}
        stored = await context.client.patch(kind, context.scope(kind), name, json.dumps(patch))
        print(f"{printers.name_line(kind, stored)} scaled")
    return 0


# ---------------------------------------------------------------------------------------- set image


def _split_set_image(words: list[str]) -> tuple[list[str], dict[str, str]]:
    at = next((i for i, word in enumerate(words) if "=" in word), len(words))
    changes: dict[str, str] = {}
    for word in words[at:]:
        container, sep, image = word.partition("=")
        if not sep or not container or not image:
            raise UsageError(f"invalid image update {word!r}: use CONTAINER=IMAGE")
        changes[container] = image
    if not changes:
        raise UsageError("at least one image update is required")
    return words[:at], changes


def _template_spec(obj: Any) -> core_pb2.PodSpec:
    return obj.spec if isinstance(obj, core_pb2.Pod) else obj.spec.template.spec


async def set_image_verb(context: Context, args: argparse.Namespace) -> int:
    target_words, changes = _split_set_image(list(args.words))
    targets = targets_of(target_words)
    for kind, _ in targets:
        _only(kind, WITH_POD_TEMPLATE, "image setter")
    for kind, name in targets:
        while True:
            obj = await _get(context, kind, name)
            spec = _template_spec(obj)
            containers = [*spec.init_containers, *spec.containers]
            changed = False
            for container_name, image in changes.items():
                matching = [c for c in containers if container_name in ("*", c.name)]
                if not matching:
                    raise UsageError(f'unable to find container named "{container_name}"')
                for container in matching:
                    changed |= container.image != image
                    container.image = image
            if not changed:
                break  # kubectl prints nothing when nothing changes
            try:
                stored = await context.client.update(obj)
            except ApiError as error:
                if error.reason is Reason.CONFLICT:
                    continue
                raise
            print(f"{printers.name_line(kind, stored)} image updated")
            break
    return 0


# ---------------------------------------------------------------------------------------- rollout


async def _deployment(context: Context, kind: Kind, name: str, what: str) -> apps_pb2.Deployment:
    _only(kind, ("Deployment",), what)
    found = await _get(context, kind, name)
    assert isinstance(found, apps_pb2.Deployment)
    return found


async def replica_sets_of(context: Context, deployment: apps_pb2.Deployment) -> list[apps_pb2.ReplicaSet]:
    items, _ = await context.client.list(REPLICA_SET, deployment.metadata.namespace)
    return [rs for rs in items if isinstance(rs, apps_pb2.ReplicaSet)
            and (reference := controller_of(rs.metadata)) is not None and reference.uid == deployment.metadata.uid]


async def rollout_status_verb(context: Context, args: argparse.Namespace) -> int:
    timeout = rollouts.parse_duration(args.timeout)
    for kind, name in targets_of(args.targets):
        deployment = await _deployment(context, kind, name, "status viewer")
        try:
            await asyncio.wait_for(_watch_rollout(context, deployment, args), timeout or None)
        except TimeoutError:
            raise UsageError("timed out waiting for the condition") from None
    return 0


async def _watch_rollout(context: Context, deployment: apps_pb2.Deployment, args: argparse.Namespace) -> None:
    last = ""

    def show(current: apps_pb2.Deployment) -> bool:
        nonlocal last
        if args.revision > 0:
            _check_revision(current, args.revision)
        line, done = rollouts.status_line(current)
        if line != last:  # kubectl prints on every change it sees; the same line once is enough
            print(line, flush=True)
            last = line
        return done or args.watch == "false"

    if show(deployment):
        return
    meta = deployment.metadata
    async for event in context.client.watch(DEPLOYMENT, meta.namespace, resource_version=meta.resource_version,
                                            field_selector=f"metadata.name={meta.name}"):
        if event.type == "DELETED":
            raise UsageError("object has been deleted")
        if isinstance(event.object, apps_pb2.Deployment) and show(event.object):
            return


def _check_revision(deployment: apps_pb2.Deployment, wanted: int) -> None:
    current = deployment.metadata.annotations.get("deployment.kubernetes.io/revision", "")
    if current.isdigit() and int(current) != wanted:
        raise UsageError(f"desired revision ({wanted}) is different from the running revision ({current})")


async def rollout_history_verb(context: Context, args: argparse.Namespace) -> int:
    for kind, name in targets_of(args.targets):
        deployment = await _deployment(context, kind, name, "history viewer")
        sets = await replica_sets_of(context, deployment)
        label = printers.name_line(kind, deployment)
        if args.revision > 0:
            found = [rs for rs in sets if rs.metadata.annotations.get("deployment.kubernetes.io/revision")
                     == str(args.revision)]
            if not found:
                raise UsageError("unable to find the specified revision")
            print(f"{label} with revision #{args.revision}")
            print(describing.pod_template(found[0].spec.template))
            continue
        print(f"{label} \n{rollouts.history_table(sets)}")
    return 0


async def rollout_undo_verb(context: Context, args: argparse.Namespace) -> int:
    for kind, name in targets_of(args.targets):
        deployment = await _deployment(context, kind, name, "rollbacker")
        if deployment.spec.paused:
            raise UsageError("you cannot rollback a paused deployment; resume it first with 'klctl rollout resume' "
                             "and try again")
        target = rollouts.revision_set(await replica_sets_of(context, deployment), args.to_revision, name)
        patch = rollouts.rollback_patch(deployment, target)
        label = printers.name_line(kind, deployment)
        if patch is None:
            revision = args.to_revision or target.metadata.annotations.get("deployment.kubernetes.io/revision", "")
            print(f"{label} skipped rollback (current template already matches revision {revision})")
            continue
        patch.insert(0, {"op": "test", "path": "/metadata/resourceVersion",
                         "value": deployment.metadata.resource_version})
        try:
            await context.client.patch(kind, context.scope(kind), name, json.dumps(patch), patch_type="json")
        except ApiError as error:
            revision = args.to_revision or target.metadata.annotations.get("deployment.kubernetes.io/revision", "")
            raise UsageError(f"failed restoring revision {revision}: {error.message}") from None
        print(f"{label} rolled back")
    return 0


async def _patch_or_refuse(context: Context, kind: Kind, name: str, patch: dict[str, Any]) -> Message:
    return await context.client.patch(kind, context.scope(kind), name, json.dumps(patch))


async def rollout_pause_verb(context: Context, args: argparse.Namespace) -> int:
    for kind, name in targets_of(args.targets):
        deployment = await _deployment(context, kind, name, "pauser")
        if deployment.spec.paused:
            raise UsageError(f'{kind.qualified_plural} "{name}" is already paused')
        stored = await _patch_or_refuse(context, kind, name, {"spec": {"paused": True}})
        print(f"{printers.name_line(kind, stored)} paused")
    return 0


async def rollout_resume_verb(context: Context, args: argparse.Namespace) -> int:
    for kind, name in targets_of(args.targets):
        deployment = await _deployment(context, kind, name, "resumer")
        if not deployment.spec.paused:
            raise UsageError(f'{kind.qualified_plural} "{name}" is not paused')
        stored = await _patch_or_refuse(context, kind, name, {"spec": {"paused": None}})
        print(f"{printers.name_line(kind, stored)} resumed")
    return 0


def _rfc3339_now() -> str:
    now = datetime.now(UTC).astimezone()
    text = now.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


async def rollout_restart_verb(context: Context, args: argparse.Namespace) -> int:
    for kind, name in targets_of(args.targets):
        deployment = await _deployment(context, kind, name, "restarter")
        if deployment.spec.paused:
            raise UsageError(f'{kind.qualified_plural} "{name}" can\'t restart paused deployment '
                             "(run rollout resume first)")
        patch = {"spec": {"template": {"metadata": {"annotations": {rollouts.RESTARTED_AT: _rfc3339_now()}}}}}
        stored = await _patch_or_refuse(context, kind, name, patch)
        print(f"{printers.name_line(kind, stored)} restarted")
    return 0
