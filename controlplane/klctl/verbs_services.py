"""klctl's verbs for Services: `expose` and `create service clusterip|nodeport|loadbalancer|externalname`
(servicegen.py makes the Service as kubectl makes it; this module reads flags and talks to the API)."""

from __future__ import annotations

import argparse
from typing import Any

from controlplane.api import kinds
from controlplane.klctl.context import Context, UsageError
from controlplane.klctl.servicegen import (
    SERVICE_TYPES,
    CreateServiceOptions,
    ExposeOptions,
    GenerateError,
    create_service,
    expose,
)
from controlplane.klctl.verbs_read import parse_targets
from controlplane.klctl.verbs_write import _add_dry_run, _create, report

SERVICE = kinds.by_kind("Service")


def add_parsers(verbs: Any, create_kinds: Any) -> None:
    parser = verbs.add_parser("expose", help="make a Service for a deployment, replica set, pod or service")
    parser.add_argument("targets", nargs="+", metavar="TYPE NAME | TYPE/NAME")
    parser.add_argument("--port", default="", help="the port the service serves on")
    parser.add_argument("--protocol", default="", help="TCP, UDP or SCTP (default: the object's, else TCP)")
    parser.add_argument("--target-port", default="", help="the port (number or name) on the pods")
    parser.add_argument("--name", default="", help="the service's name (default: the object's)")
    parser.add_argument("--type", default="", help="ClusterIP, NodePort, LoadBalancer or ExternalName")
    parser.add_argument("--selector", default="", help="pods to select (default: the object's selector)")
    parser.add_argument("-l", "--labels", default="", help="the service's labels (default: the object's)")
    parser.add_argument("--external-ip", default="", help="an external IP address for the service")
    parser.add_argument("--cluster-ip", default="", help="the cluster IP, or None for a headless service")
    parser.add_argument("--session-affinity", default="", help="None or ClientIP")
    parser.add_argument("--load-balancer-ip", default="", help="the IP a LoadBalancer should get")
    _add_dry_run(parser)
    parser.set_defaults(run=expose_verb)

    service = create_kinds.add_parser("service", aliases=["svc"], help="create a Service of a type")
    types = service.add_subparsers(dest="service_type", metavar="TYPE", parser_class=type(service))
    service.set_defaults(run=_no_service_type)
    for word, kind in SERVICE_TYPES.items():
        sub = types.add_parser(word, help=f"a {kind} Service")
        sub.add_argument("name")
        sub.add_argument("--tcp", action="append", default=[], metavar="PORT[:TARGET]",
                         help="a port and its target port (repeatable, or comma-separated)")
        if word == "clusterip":
            sub.add_argument("--clusterip", default="", help="the cluster IP, or None for a headless service")
        if word == "nodeport":
            sub.add_argument("--node-port", type=int, default=0, help="the node port (default: allocated)")
        if word == "externalname":
            sub.add_argument("--external-name", required=True, help="the DNS name the service stands for")
        _add_dry_run(sub)
        sub.set_defaults(run=create_service_verb, kind=kind)


async def expose_verb(context: Context, args: argparse.Namespace) -> int:
    targets = parse_targets(args.targets)
    if len(targets) != 1 or len(targets[0][1]) != 1:
        raise UsageError("expose takes one TYPE NAME (or TYPE/NAME)")
    kind, [name] = targets[0]
    obj = await context.client.get(kind, context.scope(kind), name)
    options = ExposeOptions(port=args.port, protocol=args.protocol, target_port=args.target_port, name=args.name,
                            type=args.type, selector=args.selector, labels=args.labels,
                            external_ip=args.external_ip, cluster_ip=args.cluster_ip,
                            session_affinity=args.session_affinity, load_balancer_ip=args.load_balancer_ip)
    try:
        service = expose(kind, obj, options, context.namespace)
    except GenerateError as error:
        raise UsageError(str(error)) from None
    if args.dry_run == "client":
        report(SERVICE, service, "exposed (dry run)", args.output)
        return 0
    stored = await context.client.create(service, dry_run=args.dry_run == "server")
    report(SERVICE, stored, "exposed" if args.dry_run == "none" else "exposed (server dry run)", args.output)
    return 0


async def _no_service_type(context: Context, args: argparse.Namespace) -> int:
    raise UsageError(f"must specify a type of service: {', '.join(SERVICE_TYPES)}")


async def create_service_verb(context: Context, args: argparse.Namespace) -> int:
    options = CreateServiceOptions(type=args.kind, name=args.name, tcp=tuple(args.tcp),
                                   cluster_ip=getattr(args, "clusterip", ""),
                                   node_port=getattr(args, "node_port", 0),
                                   external_name=getattr(args, "external_name", ""))
    try:
        service = create_service(options, context.namespace)
    except GenerateError as error:
        raise UsageError(str(error)) from None
    return await _create(context, service, args)
