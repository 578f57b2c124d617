"""klctl's reading verbs: get (with -w), describe, api-resources."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message

from controlplane.api import kinds
from controlplane.api.errors import ApiError, Reason
from controlplane.api.kinds import Kind
from controlplane.api.v1 import core_pb2
from controlplane.klctl import describe as describing
from controlplane.klctl import output, printers
from controlplane.klctl.context import Context, UsageError, Verb

# What `describe` fetches besides the object, as kubectl does (a Service's Endpoints, a Deployment's
# ReplicaSets, the pods behind a workload or on a node).
RELATED_KINDS = {"Service": ("Endpoints",), "Deployment": ("ReplicaSet",), "ReplicaSet": ("Pod",),
                 "StatefulSet": ("Pod",), "PersistentVolumeClaim": ("Pod",), "Ingress": ("Service", "Endpoints"),
                 "Node": ("Lease", "Pod")}
# `klctl get all`, as kubectl's "all" category (of the kinds kubelab has).
ALL_KINDS = ("Pod", "Service", "Deployment", "ReplicaSet", "StatefulSet")
OUTPUTS = ("wide", "yaml", "json", "name")


def parse_targets(words: Sequence[str]) -> list[tuple[Kind, list[str]]]:
    """`pods`, `pods web db`, `pods,svc`, `pod/web svc/db`, `all` -> [(kind, names)]."""
    if not words:
        raise UsageError("you must specify the type of resource to get")
    if "/" in words[0]:
        targets: dict[str, tuple[Kind, list[str]]] = {}
        for word in words:
            kind_word, slash, name = word.partition("/")
            if not slash or not name:
                raise UsageError(f"there is no need to specify a resource type as a separate argument when "
                                 f"passing arguments in resource/name form (got {word!r})")
            kind = kinds.resolve(kind_word)
            targets.setdefault(kind.kind, (kind, []))[1].append(name)
        return list(targets.values())
    names = list(words[1:])
    found: list[tuple[Kind, list[str]]] = []
    for kind_word in words[0].split(","):
        if kind_word == "all":
            found.extend((kinds.by_kind(k), names) for k in ALL_KINDS)
        else:
            found.append((kinds.resolve(kind_word), names))
    return found


def _add_selection_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-A", "--all-namespaces", action="store_true", help="every namespace")
    parser.add_argument("-l", "--selector", default="", help="label selector, e.g. app=web,tier!=db")
    parser.add_argument("--field-selector", default="", help="field selector, e.g. status.phase=Running")


def add_parsers(verbs: Any) -> None:
    get = verbs.add_parser("get", help="list objects (kubectl get)")
    get.add_argument("targets", nargs="+", metavar="TYPE[,TYPE] [NAME...] | TYPE/NAME...")
    _add_selection_flags(get)
    get.add_argument("-o", "--output", choices=OUTPUTS, help="output format")
    get.add_argument("-w", "--watch", action="store_true", help="after listing, print changes as they happen")
    get.add_argument("--no-headers", action="store_true", help="leave out the header line")
    get.set_defaults(run=get_verb)

    describe = verbs.add_parser("describe", help="show an object in detail, with its events")
    describe.add_argument("targets", nargs="+", metavar="TYPE [NAME...] | TYPE/NAME...")
    _add_selection_flags(describe)
    describe.set_defaults(run=describe_verb)

    resources = verbs.add_parser("api-resources", help="the kinds this server serves")
    resources.set_defaults(run=api_resources_verb)


async def _fetch(context: Context, kind: Kind, names: list[str], args: argparse.Namespace,
                 ) -> tuple[list[Message], list[ApiError]]:
    namespace = context.scope(kind, args.all_namespaces)
    if not names:
        items, _ = await context.client.list(kind, namespace, label_selector=args.selector,
                                             field_selector=args.field_selector)
        return items, []
    found: list[Message] = []
    errors: list[ApiError] = []
    for name in names:
        try:
            found.append(await context.client.get(kind, context.scope(kind), name))
        except ApiError as error:
            if error.reason is not Reason.NOT_FOUND:
                raise
            errors.append(error)
    return found, errors


def _no_resources(context: Context, kind: Kind, all_namespaces: bool) -> str:
    if kind.namespaced and not all_namespaces:
        return f"No resources found in {context.namespace} namespace."
    return "No resources found"


# `get` words that are not kinds of the API, served by other verb modules (`members`: verbs_members.py).
SPECIAL_GETS: dict[str, Verb] = {}


async def get_verb(context: Context, args: argparse.Namespace) -> int:
    special = SPECIAL_GETS.get(args.targets[0]) if args.targets else None
    if special is not None:
        return await special(context, args)
    targets = parse_targets(args.targets)
    if args.watch and len(targets) != 1:
        raise UsageError("you may only watch one kind of resource at a time")
    show_kind = len(targets) > 1
    status = 0
    everything: list[Message] = []
    printed_any = False
    for kind, names in targets:
        items, errors = await _fetch(context, kind, names, args)
        for error in errors:
            print(f"Error from server (NotFound): {error.message}", file=sys.stderr)
            status = 1
        if args.output in ("yaml", "json"):
            everything.extend(items)
            continue
        if args.output == "name":
            for item in items:
                print(printers.name_line(kind, item))
            continue
        if not items:
            continue
        if printed_any:
            print()
        print(printers.table(kind, items, now=context.now, wide=args.output == "wide",
                             with_namespace=args.all_namespaces and kind.namespaced, show_kind=show_kind,
                             no_headers=args.no_headers), end="")
        printed_any = True
    if args.output in ("yaml", "json"):
        single = len(targets) == 1 and len(targets[0][1]) == 1
        if everything or not single:
            print(output.render(everything, args.output, single=single), end="")
    elif not printed_any and args.output != "name" and status == 0 and not args.watch:
        print(_no_resources(context, targets[0][0], args.all_namespaces), file=sys.stderr)
    if args.watch:
        sys.stdout.flush()  # what was listed shows before the first change arrives
        await _watch(context, targets[0][0], targets[0][1], args, headers=not printed_any)
    return status


async def _watch(context: Context, kind: Kind, names: list[str], args: argparse.Namespace, *,
                 headers: bool) -> None:
    namespace = context.scope(kind, args.all_namespaces)
    field_selector = args.field_selector
    if len(names) == 1:
        name_selector = f"metadata.name={names[0]}"
        field_selector = f"{field_selector},{name_selector}" if field_selector else name_selector
    _, revision = await context.client.list(kind, namespace, label_selector=args.selector,
                                            field_selector=field_selector)
    watcher = ApiWatchPrinter(context, kind, args, headers)
    client = context.client
    async for event in client.watch(kind, namespace, resource_version=revision, label_selector=args.selector,
                                    field_selector=field_selector):
        watcher.show(event.type, event.object)


class ApiWatchPrinter:
    """Prints each watched change as one more row (or one more document with -o yaml/json)."""

    def __init__(self, context: Context, kind: Kind, args: argparse.Namespace, headers: bool) -> None:
        self.context, self.kind, self.args, self.headers = context, kind, args, headers

    def show(self, event_type: str, obj: Message) -> None:
        if self.args.output in ("yaml", "json"):
            text = output.render([obj], self.args.output, single=True)
            print(("---\n" + text) if self.args.output == "yaml" else text, end="", flush=True)
            return
        if self.args.output == "name":
            print(printers.name_line(self.kind, obj), flush=True)
            return
        print(printers.table(self.kind, [obj], now=datetime.now(UTC), wide=self.args.output == "wide",
                             with_namespace=self.args.all_namespaces and self.kind.namespaced,
                             no_headers=not self.headers), end="", flush=True)
        self.headers = False


async def _events_about(context: Context, kind: Kind, obj: Message) -> list[core_pb2.Event]:
    meta = obj.metadata  # type: ignore[attr-defined]
    selector = f"involvedObject.kind={kind.kind},involvedObject.name={meta.name}"
    events, _ = await context.client.list(kinds.by_kind("Event"), meta.namespace if kind.namespaced else "",
                                          field_selector=selector)
    found = [e for e in events if isinstance(e, core_pb2.Event)]
    return sorted(found, key=lambda e: e.last_timestamp or e.event_time or e.metadata.creation_timestamp)


async def _related_to(context: Context, kind: Kind, obj: Message) -> list[Message] | None:
    wanted = RELATED_KINDS.get(kind.kind)
    if not wanted:
        return None
    namespace = obj.metadata.namespace if kind.namespaced else ""  # type: ignore[attr-defined]
    related: list[Message] = []
    for name in wanted:
        items, _ = await context.client.list(kinds.by_kind(name), namespace)
        related.extend(items)
    return related


async def describe_verb(context: Context, args: argparse.Namespace) -> int:
    status = 0
    first = True
    for kind, names in parse_targets(args.targets):
        items, errors = await _fetch(context, kind, names, args)
        for error in errors:
            print(f"Error from server (NotFound): {error.message}", file=sys.stderr)
            status = 1
        if not items and not errors:
            print(_no_resources(context, kind, args.all_namespaces), file=sys.stderr)
        for item in items:
            if not first:
                print()
                print()
            first = False
            events = await _events_about(context, kind, item)
            related = await _related_to(context, kind, item)
            print(describing.describe(kind, item, events, now=context.now, related=related), end="")
    return status


async def api_resources_verb(context: Context, args: argparse.Namespace) -> int:
    resources = await context.client.resources()
    rows = [("NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND")]
    rows += [(r.name, ",".join(r.short_names), r.api_version, "true" if r.namespaced else "false", r.kind)
             for r in sorted(resources, key=lambda r: r.name)]
    text = "\n".join("\t".join(row) for row in rows)
    print(printers.tabwrite(text, min_width=6, padding=3))
    return 0
