"""The Services `klctl expose` and `klctl create service` make, as kubectl makes them (pure).

expose: the selector comes from the object (a Deployment's or ReplicaSet's matchLabels, a pod's
labels, a Service's selector), the ports from --port or else from the object's container (or
service) ports, the labels from the object; --target-port applies to every port.
create service: `--tcp=PORT[:TARGET]` ports named after the spec (`80-8080`), labelled and
selecting `app=NAME`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from google.protobuf.message import Message

from controlplane.api import names
from controlplane.api.kinds import Kind
from controlplane.api.v1 import apps_pb2, core_pb2, meta_pb2


class GenerateError(ValueError):
    """What kubectl says when it cannot make the Service (one line)."""


EXPOSABLE = ("Pod", "Service", "ReplicaSet", "Deployment")


@dataclass(frozen=True)
class ExposeOptions:
    port: str = ""
    protocol: str = ""
    target_port: str = ""
    name: str = ""
    type: str = ""
    selector: str = ""
    labels: str = ""
    external_ip: str = ""
    cluster_ip: str = ""
    session_affinity: str = ""
    load_balancer_ip: str = ""


def parse_labels(text: str, what: str) -> dict[str, str]:
    """`a=b,c=d` as kubectl's parseLabels reads --selector and --labels."""
    found: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise GenerateError(f"invalid label spec: {item}" if what == "labels" else
                                f"invalid selector: {item}")
        found[key.strip()] = value.strip()
    return found


def int_or_string(text: str) -> meta_pb2.IntOrString:
    """intstr.Parse: digits are a number, anything else a name."""
    try:
        return meta_pb2.IntOrString(int_val=int(text))
    except ValueError:
        return meta_pb2.IntOrString(str_val=text)


def _go_requirements(expressions: Sequence[meta_pb2.LabelSelectorRequirement]) -> str:
    items = " ".join(f"{{Key:{e.key} Operator:{e.operator} Values:[{' '.join(e.values)}]}}" for e in expressions)
    return f"[{items}]"


def selector_of(kind: Kind, obj: Message) -> dict[str, str]:
    """kubectl's MapBasedSelectorForObject."""
    if isinstance(obj, core_pb2.Pod):
        if not obj.metadata.labels:
            raise GenerateError("the pod has no labels and cannot be exposed")
        return dict(obj.metadata.labels)
    if isinstance(obj, core_pb2.Service):
        if not obj.spec.selector:
            raise GenerateError("the service has no pod selector set")
        return dict(obj.spec.selector)
    if isinstance(obj, apps_pb2.Deployment | apps_pb2.ReplicaSet):
        selector = obj.spec.selector
        if selector.match_expressions:
            raise GenerateError(f'couldn\'t convert expressions - "{_go_requirements(selector.match_expressions)}" '
                                "to map-based selector format")
        if not selector.match_labels:
            raise GenerateError(f"the {kind.singular} has no labels or selectors and cannot be exposed")
        return dict(selector.match_labels)
    raise GenerateError(f"cannot expose a {kind.qualified_kind}")


def _container_ports(containers: Sequence[core_pb2.Container]) -> list[tuple[str, str]]:
    return [(str(port.container_port), port.protocol or "TCP") for c in containers for port in c.ports]


def ports_of(obj: Message) -> list[tuple[str, str]]:
    """kubectl's PortsForObject and ProtocolsForObject: (port, protocol) of the object, in order."""
    if isinstance(obj, core_pb2.Pod):
        return _container_ports(obj.spec.containers)
    if isinstance(obj, core_pb2.Service):
        return [(str(port.port), port.protocol or "TCP") for port in obj.spec.ports]
    if isinstance(obj, apps_pb2.Deployment | apps_pb2.ReplicaSet):
        return _container_ports(obj.spec.template.spec.containers)
    return []


def expose(kind: Kind, obj: Message, options: ExposeOptions, namespace: str) -> core_pb2.Service:
    if kind.kind not in EXPOSABLE:
        raise GenerateError(f"cannot expose a {kind.qualified_kind}")
    meta = obj.metadata  # type: ignore[attr-defined]
    if options.selector:
        selector = parse_labels(options.selector, "selector")
    else:
        try:
            selector = selector_of(kind, obj)
        except GenerateError as error:
            raise GenerateError(f"couldn't retrieve selectors via --selector flag or introspection: {error}") from None
    headless = options.cluster_ip == "None"
    found = ports_of(obj)
    protocols = dict(found)
    if options.port:
        wanted = [options.port]
    else:
        wanted = list(dict.fromkeys(port for port, _ in found))
        if not wanted and not headless:
            raise GenerateError("couldn't find port via --port flag or introspection")
    service = core_pb2.Service(api_version="v1", kind="Service")
    service.metadata.name = options.name or meta.name
    service.metadata.namespace = namespace
    labels = parse_labels(options.labels, "labels") if options.labels else dict(meta.labels)
    service.metadata.labels.update(labels)
    service.spec.selector.update(selector)
    for index, text in enumerate(wanted):
        try:
            number = int(text)
        except ValueError:
            raise GenerateError(f'strconv.Atoi: parsing "{text}": invalid syntax') from None
        port = service.spec.ports.add(port=number, protocol=options.protocol or protocols.get(text, "TCP"))
        if len(wanted) > 1:
            port.name = f"port-{index + 1}"
        port.target_port.CopyFrom(int_or_string(options.target_port) if options.target_port
                                  else meta_pb2.IntOrString(int_val=number))
    if options.external_ip:
        service.spec.external_ips.append(options.external_ip)
    if options.type:
        service.spec.type = options.type
    if service.spec.type == "LoadBalancer" and options.load_balancer_ip:
        service.spec.load_balancer_ip = options.load_balancer_ip
    if options.session_affinity:
        if options.session_affinity not in ("None", "ClientIP"):
            raise GenerateError(f"unknown session affinity: {options.session_affinity}")
        service.spec.session_affinity = options.session_affinity
    if options.cluster_ip:
        service.spec.cluster_ip = options.cluster_ip
    return service


# ------------------------------------------------------------------------------------------ create service

SERVICE_TYPES = {"clusterip": "ClusterIP", "nodeport": "NodePort", "loadbalancer": "LoadBalancer",
                 "externalname": "ExternalName"}


@dataclass(frozen=True)
class CreateServiceOptions:
    type: str  # ClusterIP, NodePort, LoadBalancer, ExternalName
    name: str
    tcp: Sequence[str] = field(default_factory=tuple)
    cluster_ip: str = ""
    node_port: int = 0
    external_name: str = ""


def parse_port_spec(spec: str) -> tuple[int, meta_pb2.IntOrString]:
    """`80` or `80:8080` or `80:http` (kubectl's parsePorts)."""
    port_text, _, target_text = spec.partition(":")
    try:
        port = int(port_text)
    except ValueError:
        raise GenerateError(f'strconv.ParseUint: parsing "{port_text}": invalid syntax') from None
    if not 0 < port < 65536:
        raise GenerateError(f"{port} is not a valid port number")
    target = int_or_string(target_text or port_text)
    problems = (names.port_name(target.str_val) if target.WhichOneof("value") == "str_val"
                else names.port_number(target.int_val))
    if problems:
        raise GenerateError(",".join(problems))
    return port, target


def create_service(options: CreateServiceOptions, namespace: str) -> core_pb2.Service:
    headless = options.cluster_ip == "None"
    if headless and options.type != "ClusterIP":
        raise GenerateError("ClusterIP=None can only be used with ClusterIP service type")
    specs = [item for text in options.tcp for item in text.split(",") if item]
    if not headless and not specs and options.type != "ExternalName":
        raise GenerateError("at least one tcp port specifier must be provided")
    if options.type == "ExternalName" and names.dns1123_subdomain(options.external_name):
        raise GenerateError(f"invalid service external name {options.external_name}")
    service = core_pb2.Service(api_version="v1", kind="Service")
    service.metadata.name = options.name
    service.metadata.namespace = namespace
    service.metadata.labels["app"] = options.name
    service.spec.selector["app"] = options.name
    service.spec.type = options.type
    for spec in specs:
        number, target = parse_port_spec(spec)
        port = service.spec.ports.add(name=spec.replace(":", "-"), port=number, protocol="TCP",
                                      node_port=options.node_port)
        port.target_port.CopyFrom(target)
    if options.external_name:
        service.spec.external_name = options.external_name
    if options.cluster_ip:
        service.spec.cluster_ip = options.cluster_ip
    return service
