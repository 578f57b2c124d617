"""klctl's writing verbs: apply, create, delete, label, annotate."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from google.protobuf.message import Message

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.kinds import Kind
from controlplane.api.v1 import core_pb2
from controlplane.klctl import output, printers
from controlplane.klctl.applying import apply_one
from controlplane.klctl.context import Context, UsageError
from controlplane.klctl.manifests import Manifest, in_apply_order, read_manifests
from controlplane.klctl.verbs_read import parse_targets


def _add_file_flags(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("-f", "--filename", action="append", default=[], required=required,
                        help="manifest file, directory or - for stdin (repeatable)")
    parser.add_argument("-R", "--recursive", action="store_true", help="read directories recursively")


def _add_dry_run(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dry-run", nargs="?", const="client", default="none",
                        choices=["none", "client", "server"],
                        help="client: print what would be sent; server: let the server check it, store nothing")
    parser.add_argument("-o", "--output", choices=["yaml", "json", "name"], help="print the object(s)")


def add_parsers(verbs: Any) -> Any:
    """Add apply, create, delete, label, annotate; returns `create`'s kinds, to which other verb
    modules add theirs (`create deployment`, `create service`)."""
    apply = verbs.add_parser("apply", help="create or update objects from manifests")
    _add_file_flags(apply, required=True)
    _add_dry_run(apply)
    apply.set_defaults(run=apply_verb)

    create = verbs.add_parser("create", help="create objects from manifests or from flags")
    _add_file_flags(create, required=False)
    _add_dry_run(create)
    what = create.add_subparsers(dest="what", metavar="KIND", parser_class=type(create))
    namespace = what.add_parser("namespace", aliases=["ns"], help="create a namespace")
    namespace.add_argument("name")
    _add_dry_run(namespace)
    namespace.set_defaults(run=create_namespace_verb)
    configmap = what.add_parser("configmap", aliases=["cm"], help="create a ConfigMap from literals and files")
    _add_data_flags(configmap)
    configmap.set_defaults(run=create_configmap_verb)
    secret = what.add_parser("secret", help="create a Secret")
    secret_kinds = secret.add_subparsers(dest="secret_kind", metavar="TYPE", parser_class=type(create))
    generic = secret_kinds.add_parser("generic", help="a Secret from literals and files")
    _add_data_flags(generic)
    generic.add_argument("--type", default="", help="the Secret's type (default Opaque)")
    generic.set_defaults(run=create_secret_generic_verb)
    create.set_defaults(run=create_from_files_verb)

    delete = verbs.add_parser("delete", help="delete objects")
    delete.add_argument("targets", nargs="*", metavar="TYPE [NAME...] | TYPE/NAME...")
    _add_file_flags(delete, required=False)
    delete.add_argument("-l", "--selector", default="", help="delete what this label selector matches")
    delete.add_argument("--all", action="store_true", help="delete every object of the type in the namespace")
    delete.add_argument("--grace-period", type=int, default=None, help="seconds a pod gets to stop")
    delete.add_argument("--now", action="store_true", help="same as --grace-period=1")
    delete.add_argument("--force", action="store_true", help="with --grace-period=0: do not wait for the pod")
    delete.add_argument("--cascade", default="background",
                        choices=["background", "foreground", "orphan", "true", "false"],
                        help="what happens to dependents")
    delete.add_argument("--wait", default="true", choices=["true", "false"],
                        help="wait until the objects are gone")
    delete.add_argument("--timeout", type=float, default=0, help="seconds to wait (0: no limit)")
    delete.add_argument("--ignore-not-found", action="store_true", help="a missing object is no error")
    delete.set_defaults(run=delete_verb)

    for verb, noun in (("label", "labels"), ("annotate", "annotations")):
        parser = verbs.add_parser(verb, help=f"add, change or remove {noun}")
        parser.add_argument("words", nargs="+", metavar="TYPE NAME... KEY=VALUE... KEY-")
        parser.add_argument("--overwrite", action="store_true", help="allow changing a key that has a value")
        parser.add_argument("-l", "--selector", default="", help="act on what this label selector matches")
        parser.add_argument("--all", action="store_true", help="act on every object of the type")
        parser.set_defaults(run=label_verb, field=noun, words_anywhere=True)
    return what


# ------------------------------------------------------------------------------------------ apply


def _namespace_for(context: Context, manifest: Manifest) -> str:
    if not manifest.kind.namespaced:
        return ""
    declared = manifest.object.metadata.namespace  # type: ignore[attr-defined]
    if declared and context.namespace_given and declared != context.namespace:
        raise UsageError(f'the namespace from the provided object "{declared}" does not match the namespace '
                         f'"{context.namespace}". You must pass \'--namespace={declared}\' to perform this '
                         "operation.")
    return declared or context.namespace


def report(kind: Kind, obj: Message, verb: str, fmt: str | None) -> None:
    """What a write made, as kubectl prints it: the object in `fmt` (yaml, json, name) or `<kind>/<name> <verb>`."""
    if fmt in ("yaml", "json"):
        print(output.render([obj], fmt, single=True), end="")
    elif fmt == "name":
        print(printers.name_line(kind, obj))
    else:
        print(f"{printers.name_line(kind, obj)} {verb}")


def _server_error(error: ApiError, action: str, source: str) -> str:
    return f'Error from server ({error.reason.value}): error when {action} "{source}": {error.message}'


async def apply_verb(context: Context, args: argparse.Namespace) -> int:
    manifests = in_apply_order(read_manifests(args.filename, recursive=args.recursive))
    targets = [(m, _namespace_for(context, m)) for m in manifests]
    status = 0
    for manifest, namespace in targets:
        if args.dry_run == "client":
            report(manifest.kind, manifest.object, "configured (dry run)", args.output)
            continue
        try:
            if args.dry_run == "server":
                manifest.object.metadata.namespace = namespace  # type: ignore[attr-defined]
                stored = await context.client.create(manifest.object, dry_run=True)
                report(manifest.kind, stored, "created (server dry run)", args.output)
                continue
            stored, verb = await apply_one(context.client, manifest, namespace)
        except ApiError as error:
            if error.reason is Reason.UNAVAILABLE:
                raise
            print(_server_error(error, "applying", manifest.source), file=sys.stderr)
            status = 1
            continue
        report(manifest.kind, stored, verb, args.output)
    return status


# ------------------------------------------------------------------------------------------ create


async def _create(context: Context, obj: Message, args: argparse.Namespace) -> int:
    kind = kinds.of_message(obj)
    if args.dry_run == "client":
        report(kind, obj, "created (dry run)", args.output)
        return 0
    stored = await context.client.create(obj, dry_run=args.dry_run == "server")
    report(kind, stored, "created" if args.dry_run == "none" else "created (server dry run)",
            args.output)
    return 0


async def create_from_files_verb(context: Context, args: argparse.Namespace) -> int:
    if not args.filename:
        raise UsageError("must specify one of -f and -k, or a kind to create (namespace, configmap, secret)")
    manifests = in_apply_order(read_manifests(args.filename, recursive=args.recursive))
    targets = [(m, _namespace_for(context, m)) for m in manifests]
    status = 0
    for manifest, namespace in targets:
        if manifest.kind.namespaced:
            manifest.object.metadata.namespace = namespace  # type: ignore[attr-defined]
        try:
            status |= await _create(context, manifest.object, args)
        except ApiError as error:
            if error.reason is Reason.UNAVAILABLE:
                raise
            print(_server_error(error, "creating", manifest.source), file=sys.stderr)
            status = 1
    return status


async def create_namespace_verb(context: Context, args: argparse.Namespace) -> int:
    namespace = kinds.by_kind("Namespace").new()
    namespace.metadata.name = args.name  # type: ignore[attr-defined]
    return await _create(context, namespace, args)


def _add_data_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("--from-literal", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--from-file", action="append", default=[], metavar="[KEY=]PATH",
                        help="a file (key: its name) or a directory (a key per file)")
    parser.add_argument("--from-env-file", action="append", default=[], metavar="PATH",
                        help="KEY=VALUE lines")
    _add_dry_run(parser)


def collect_data(args: argparse.Namespace) -> dict[str, bytes]:
    """The key/values of --from-literal, --from-file and --from-env-file, refusing duplicate keys."""
    data: dict[str, bytes] = {}

    def put(key: str, value: bytes, origin: str) -> None:
        if key in data:
            raise UsageError(f'cannot add key "{key}" from {origin}, another key by that name already exists')
        data[key] = value

    for literal in args.from_literal:
        key, sep, value = literal.partition("=")
        if not sep or not key:
            raise UsageError(f'invalid literal source {literal}, expected key=value')
        put(key, value.encode(), "--from-literal")
    for spec in args.from_file:
        key, sep, path_text = spec.partition("=")
        path = Path(path_text if sep else spec)
        if path.is_dir() and not sep:
            for child in sorted(p for p in path.iterdir() if p.is_file()):
                put(child.name, child.read_bytes(), str(child))
            continue
        try:
            put(key if sep else path.name, path.read_bytes(), str(path))
        except OSError as error:
            raise UsageError(f'error reading {path}: {error.strerror}') from None
    for env_file in args.from_env_file:
        try:
            lines = Path(env_file).read_text().splitlines()
        except OSError as error:
            raise UsageError(f'error reading {env_file}: {error.strerror}') from None
        for number, line in enumerate(lines, 1):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            key, sep, value = stripped.partition("=")
            if not sep:
                raise UsageError(f'{env_file}:{number}: expected KEY=VALUE, got "{stripped}"')
            put(key.strip(), value.encode(), env_file)
    return data


async def create_configmap_verb(context: Context, args: argparse.Namespace) -> int:
    config_map = core_pb2.ConfigMap(api_version="v1", kind="ConfigMap")
    config_map.metadata.name = args.name
    config_map.metadata.namespace = context.namespace
    for key, value in collect_data(args).items():
        try:
            config_map.data[key] = value.decode()
        except UnicodeDecodeError:
            config_map.binary_data[key] = value
    return await _create(context, config_map, args)


async def create_secret_generic_verb(context: Context, args: argparse.Namespace) -> int:
    secret = core_pb2.Secret(api_version="v1", kind="Secret", type=args.type or "Opaque")
    secret.metadata.name = args.name
    secret.metadata.namespace = context.namespace
    for key, value in collect_data(args).items():
        secret.data[key] = value
    return await _create(context, secret, args)


# ------------------------------------------------------------------------------------------ delete


def _propagation(cascade: str) -> str:
    return {"background": "Background", "true": "Background", "foreground": "Foreground",
            "orphan": "Orphan", "false": "Orphan"}[cascade]


async def _delete_targets(context: Context, args: argparse.Namespace) -> list[tuple[Kind, str, str]]:
    """(kind, namespace, name) of everything the command line names."""
    if args.filename:
        if args.targets:
            raise UsageError("there is no need to specify a resource type as a separate argument when "
                             "passing arguments with -f")
        return [(m.kind, _namespace_for(context, m), m.object.metadata.name)  # type: ignore[attr-defined]
                for m in read_manifests(args.filename, recursive=args.recursive)]
    if not args.targets:
        raise UsageError("You must provide one or more resources by argument or filename.")
    found: list[tuple[Kind, str, str]] = []
    for kind, names in parse_targets(args.targets):
        if names:
            found.extend((kind, context.scope(kind), name) for name in names)
            continue
        if not args.selector and not args.all:
            raise UsageError("resource(s) were provided, but no name was specified")
        items, _ = await context.client.list(kind, context.scope(kind), label_selector=args.selector)
        found.extend((kind, context.scope(kind), i.metadata.name) for i in items)  # type: ignore[attr-defined]
    return found


async def delete_verb(context: Context, args: argparse.Namespace) -> int:
    grace = 1 if args.now else args.grace_period
    if args.force and grace is None:
        grace = 0
    if grace == 0:
        print("Warning: Immediate deletion does not wait for confirmation that the running resource has been "
              "terminated. The resource may continue to run on the cluster indefinitely.", file=sys.stderr)
    targets = await _delete_targets(context, args)
    if not targets:
        print(f"No resources found in {context.namespace} namespace." if not args.filename else
              "No resources found", file=sys.stderr)
        return 0
    status = 0
    pending: list[tuple[Kind, str, Message]] = []
    for kind, namespace, name in targets:
        try:
            obj, still_there = await context.client.delete(kind, namespace, name, grace_period=grace,
                                                           propagation=_propagation(args.cascade))
        except ApiError as error:
            if error.reason is Reason.NOT_FOUND and args.ignore_not_found:
                continue
            if error.reason is Reason.UNAVAILABLE:
                raise
            print(f"Error from server ({error.reason.value}): {error.message}", file=sys.stderr)
            status = 1
            continue
        print(f'{kind.singular}{"." + kind.group if kind.group else ""} "{name}" deleted')
        if still_there and grace != 0:
            pending.append((kind, namespace, obj))
    if args.wait == "true":
        for kind, namespace, obj in pending:
            await _wait_until_gone(context, kind, namespace, obj, args.timeout)
    return status


async def _wait_until_gone(context: Context, kind: Kind, namespace: str, obj: Message, timeout: float) -> None:
    meta = obj.metadata  # type: ignore[attr-defined]

    async def gone() -> None:
        async for event in context.client.watch(kind, namespace, resource_version=meta.resource_version,
                                                field_selector=f"metadata.name={meta.name}"):
            if event.type == "DELETED":
                return

    try:
        await asyncio.wait_for(gone(), timeout or None)
    except TimeoutError:
        raise UsageError(f'timed out waiting for the condition on {kind.plural}/{meta.name}') from None


# ------------------------------------------------------------------------------------------ label/annotate


def parse_changes(words: list[str]) -> tuple[dict[str, str], list[str]]:
    """`a=b c-` -> ({"a": "b"}, ["c"])."""
    set_: dict[str, str] = {}
    remove: list[str] = []
    for word in words:
        if "=" in word:
            key, _, value = word.partition("=")
            set_[key] = value
        elif word.endswith("-") and len(word) > 1:
            remove.append(word[:-1])
        else:
            raise UsageError(f"invalid label spec: {word}")
    if not set_ and not remove:
        raise UsageError("at least one label update is required")
    return set_, remove


async def label_verb(context: Context, args: argparse.Namespace) -> int:
    words = list(args.words)
    change_at = next((i for i, w in enumerate(words) if "=" in w or (w.endswith("-") and i > 0)), len(words))
    target_words, change_words = words[:change_at], words[change_at:]
    set_, remove = parse_changes(change_words)
    noun = args.field
    targets: list[tuple[Kind, str]] = []
    for kind, names in parse_targets(target_words):
        if not names:
            if not args.selector and not args.all:
                raise UsageError("resource(s) were provided, but no name was specified")
            items, _ = await context.client.list(kind, context.scope(kind), label_selector=args.selector)
            names = [i.metadata.name for i in items]  # type: ignore[attr-defined]
        targets.extend((kind, name) for name in names)
    verb = "labeled" if noun == "labels" else "annotated"
    for kind, name in targets:
        obj = await context.client.get(kind, context.scope(kind), name)
        current = dict(getattr(obj.metadata, noun))  # type: ignore[attr-defined]
        for key, value in set_.items():
            if key in current and current[key] != value and not args.overwrite:
                raise UsageError(f"'{key}' already has a value ({current[key]}), and --overwrite is false")
        patch: dict[str, Any] = {k: v for k, v in set_.items() if current.get(k) != v}
        patch.update({k: None for k in remove if k in current})
        if not patch:
            print(f"{printers.name_line(kind, obj)} not {verb}")
            continue
        stored = await context.client.patch(kind, context.scope(kind), name,
                                            json.dumps({"metadata": {noun: patch}}))
        print(f"{printers.name_line(kind, stored)} {verb}")
    return 0
