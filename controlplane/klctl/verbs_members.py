"""`klctl get members [--node NODE] [-o wide|json|yaml|name]`: the gossip cluster as one node sees it
(by default the control-plane node), asked through the API server, which relays to that node's agent.

    NAME      ADDRESS            STATUS   INCARNATION   TAGS
    master    10.240.0.10:7946   alive    1             agent=10.240.0.10:10250,pod-cidr=10.244.0.0/24,...
    worker1   10.240.0.11:7946   dead     3             agent=10.240.0.11:10250,pod-cidr=10.244.1.0/24,...
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from controlplane.api.v1 import gossip_pb2
from controlplane.client.members import MembersClient
from controlplane.klctl import output, printers, verbs_read
from controlplane.klctl.context import Context, UsageError

WORDS = ("members", "member")


def add_parsers(verbs: Any) -> None:
    """`get members`: a `--node` flag on `get`, and the word `members` handed to this module."""
    get = verbs.choices["get"]
    get.add_argument("--node", default="", help="members: the node whose view of the gossip cluster to show "
                                                "(default: the control-plane node)")
    for word in WORDS:
        verbs_read.SPECIAL_GETS[word] = get_members


def member_document(view: gossip_pb2.GossipView) -> dict[str, Any]:
    return {"kind": "MemberList", "node": view.node, "items": [
        {"name": m.name, "address": f"{m.address}:{m.port}", "status": m.status, "incarnation": m.incarnation,
         "tags": dict(sorted(m.tags.items())), "statusSeconds": m.status_seconds} for m in view.members],
        "stats": dict(sorted(view.stats.items()))}


def member_table(view: gossip_pb2.GossipView, *, wide: bool, no_headers: bool) -> str:
    header = ["NAME", "ADDRESS", "STATUS", "INCARNATION", "TAGS"] + (["SINCE"] if wide else [])
    rows = [] if no_headers else [header]
    for m in sorted(view.members, key=lambda m: m.name):
        row = [m.name, f"{m.address}:{m.port}", m.status, str(m.incarnation),
               printers.format_labels(dict(m.tags))]
        rows.append(row + ([printers.human_duration(m.status_seconds)] if wide else []))
    return printers.tabwrite("\n".join("\t".join(row) for row in rows), min_width=0, padding=3) + "\n"


async def get_members(context: Context, args: argparse.Namespace) -> int:
    if args.watch:
        raise UsageError("members cannot be watched; ask again")
    view = await MembersClient(context.client.channel).node_view(args.node)
    status = 0
    names = args.targets[1:]
    if names:
        present = {m.name for m in view.members}
        for name in names:
            if name not in present:
                print(f'Error from server (NotFound): members "{name}" not found', file=sys.stderr)
                status = 1
        kept = [m for m in view.members if m.name in names]
        del view.members[:]
        view.members.extend(kept)
    if args.output in ("json", "yaml"):
        document = member_document(view)
        print(output.to_json(document) if args.output == "json" else output.to_yaml(document), end="")
    elif args.output == "name":
        for member in sorted(view.members, key=lambda m: m.name):
            print(f"member/{member.name}")
    elif view.members:
        print(member_table(view, wide=args.output == "wide", no_headers=args.no_headers), end="")
    return status
