"""Objects as kubectl prints them: `get` tables (and `-o wide`), `-o name` lines, and ages.

The columns, the cell formats and the arithmetic behind STATUS, READY and RESTARTS follow kubectl 1.32
(`k8s.io/kubernetes/pkg/printers/internalversion/printers.go`), so a tutorial's screenshot matches what a
student sees. `tabwrite` lays the cells out as Go's text/tabwriter does with kubectl's settings.
Everything here is pure: objects and `now` in, text out.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message

from controlplane.api import labels
from controlplane.api.kinds import Kind
from controlplane.api.quantity import QuantityError, format_quantity, parse_quantity
from controlplane.api.timestamps import parse_time
from controlplane.api.v1 import (
    apps_pb2,
    coordination_pb2,
    core_pb2,
    discovery_pb2,
    meta_pb2,
    networking_pb2,
    storage_pb2,
)

NONE = "<none>"
UNKNOWN = "<unknown>"
UNSET = "<unset>"

# kubectl's table writer (k8s.io/cli-runtime/pkg/printers/tabwriter.go).
_TABLE_MIN_WIDTH = 6
_TABLE_PADDING = 3
_MAX_LISTED = 3  # endpoints, hosts, ports: this many, then "+ N more..."

DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")
BETA_STORAGE_CLASS_ANNOTATION = "volume.beta.kubernetes.io/storage-class"
NODE_ROLE_PREFIX = "node-role.kubernetes.io/"
NODE_ROLE_LABEL = "kubernetes.io/role"
NODE_UNREACHABLE_REASON = "NodeLost"
_EXPONENT_FORM = re.compile(r"[+-]?[0-9.]+[eE][+-]?[0-9]+")


# ------------------------------------------------------------------------------------------------ time


def human_duration(seconds: float) -> str:
    """kubectl's AGE: apimachinery's duration.HumanDuration (about two significant figures)."""
    whole = int(seconds)  # truncates toward zero, as Go's int(d.Seconds())
    if whole < -1:
        return "<invalid>"
    if whole < 0:
        return "0s"  # up to a second in the future: clocks disagree, call it now
    if whole < 120:
        return f"{whole}s"
    minutes = whole // 60
    if minutes < 10:
        rest = whole % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 3 * 60:
        return f"{minutes}m"
    hours = whole // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    days = hours // 24
    if hours < 24 * 8:
        rest = hours % 24
        return f"{days}d{rest}h" if rest else f"{days}d"
    if hours < 24 * 365 * 2:
        return f"{days}d"
    years, rest = days // 365, days % 365
    if hours < 24 * 365 * 8:
        return f"{years}y{rest}d" if rest else f"{years}y"
    return f"{years}y"


def since(moment: datetime | None, now: datetime) -> str:
    if moment is None:
        return UNKNOWN
    current = now if now.tzinfo else now.replace(tzinfo=UTC)
    return human_duration((current - moment).total_seconds())


def age(timestamp: str, now: datetime) -> str:
    """How long ago `timestamp` was, as kubectl's AGE column says it ("<unknown>" when empty)."""
    return since(parse_time(timestamp), now)


# ------------------------------------------------------------------------------------------ tabwriter


def tabwrite(text: str, *, min_width: int, padding: int) -> str:
    """Align tab-separated cells as Go's text/tabwriter does (padding with spaces, no flags).

    A cell is text ended by a tab; the text after a line's last tab is not part of any column. A column's
    width is taken over each run of consecutive lines that have a cell in it, so a line without tabs
    starts new columns below it.
    """
    lines = [line.split("\t") for line in text.split("\n")]
    out: list[str] = []

    def write(first: int, last: int, widths: list[int]) -> None:
        for cells in lines[first:last]:
            *columns, tail = cells
            out.append("".join(cell.ljust(widths[i]) for i, cell in enumerate(columns)) + tail)

    def layout(first: int, last: int, widths: list[int]) -> None:
        column = len(widths)
        line = first
        while line < last:
            if column >= len(lines[line]) - 1:
                line += 1
                continue
            write(first, line, widths)
            first = line
            width = min_width
            while line < last and column < len(lines[line]) - 1:
                width = max(width, len(lines[line][column]) + padding)
                line += 1
            layout(first, line, [*widths, width])
            first = line
        write(first, last, widths)

    layout(0, len(lines), [])
    return "\n".join(out)


# ------------------------------------------------------------------------------------------ formatting


def format_labels(labels: Mapping[str, str], empty: str = NONE) -> str:
    """`app=web,tier=db` (sorted), as labels.FormatLabels."""
    return ",".join(f"{key}={labels[key]}" for key in sorted(labels)) or empty


def selector_string(selector: meta_pb2.LabelSelector) -> str:
    """A label selector as Kubernetes writes it: `app=web,env in (dev,prod),!legacy` ("" selects all)."""
    expressions = [(e.key, e.operator, tuple(e.values)) for e in selector.match_expressions]
    try:
        return str(labels.selector_from_label_selector(selector.match_labels, expressions))
    except labels.SelectorError:
        return "<error>"


def quantity(value: meta_pb2.Quantity) -> str:
    """A quantity in its canonical form, as kubectl prints it ("0.5" -> "500m", "1024Mi" -> "1Gi")."""
    text = value.string
    if not text or _EXPONENT_FORM.fullmatch(text):
        return text  # Kubernetes keeps the exponent form ("1e3") as it is
    try:
        amount = parse_quantity(text)
    except QuantityError:
        return text
    return format_quantity(amount, binary=text.endswith("i"))


def format_label_selector(selector: meta_pb2.LabelSelector) -> str:
    return selector_string(selector) or NONE


def access_modes(modes: Iterable[str]) -> str:
    """`RWO,RWX`: access modes abbreviated, in kubectl's fixed order."""
    present = set(modes)
    order = (("ReadWriteOnce", "RWO"), ("ReadOnlyMany", "ROX"), ("ReadWriteMany", "RWX"),
             ("ReadWriteOncePod", "RWOP"))
    return ",".join(short for mode, short in order if mode in present)


def node_roles(node: core_pb2.Node) -> list[str]:
    roles = set()
    for key, value in node.metadata.labels.items():
        if key.startswith(NODE_ROLE_PREFIX) and key[len(NODE_ROLE_PREFIX):]:
            roles.add(key[len(NODE_ROLE_PREFIX):])
        elif key == NODE_ROLE_LABEL and value:
            roles.add(value)
    return sorted(roles)


def is_default_class(meta: meta_pb2.ObjectMeta) -> bool:
    return any(meta.annotations.get(name) == "true" for name in DEFAULT_CLASS_ANNOTATIONS)


def pv_class(pv: core_pb2.PersistentVolume) -> str:
    return pv.metadata.annotations.get(BETA_STORAGE_CLASS_ANNOTATION) or pv.spec.storage_class_name


def pvc_class(pvc: core_pb2.PersistentVolumeClaim) -> str:
    if BETA_STORAGE_CLASS_ANNOTATION in pvc.metadata.annotations:
        return pvc.metadata.annotations[BETA_STORAGE_CLASS_ANNOTATION]
    return pvc.spec.storage_class_name if pvc.spec.HasField("storage_class_name") else ""


def int_or_string(value: meta_pb2.IntOrString) -> str:
    return value.str_val if value.WhichOneof("value") == "str_val" else str(value.int_val)


def _with_more(items: list[str], total: int, empty: str) -> str:
    text = ",".join(items[:_MAX_LISTED])
    if total > _MAX_LISTED:
        return f"{text} + {total - _MAX_LISTED} more..."
    return text or empty


def _host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def format_endpoints(endpoints: core_pb2.Endpoints, port_names: set[str] | None = None) -> str:
    """`10.244.1.5:80,10.244.2.3:80 + 1 more...` (ready addresses; `port_names` limits the ports)."""
    if not endpoints.subsets:
        return NONE
    listed: list[str] = []
    total = 0
    for subset in endpoints.subsets:
        if not subset.ports:  # a headless service without ports
            total += len(subset.addresses)
            listed.extend(address.ip for address in subset.addresses)
            continue
        for port in subset.ports:
            if port_names is None or port.name in port_names:
                total += len(subset.addresses)
                listed.extend(_host_port(address.ip, port.port) for address in subset.addresses)
    return _with_more(listed, total, "")


def owner_controller(meta: meta_pb2.ObjectMeta) -> meta_pb2.OwnerReference | None:
    for reference in meta.owner_references:
        if reference.HasField("controller") and reference.controller:
            return reference
    return None


def qualified_name(kind: Kind, name: str) -> str:
    """`pod/web-1`, `deployment.apps/web`: a kind and name as kubectl's `-o name` and `get all` write them."""
    return f"{kind.qualified_kind.lower()}/{name}"


def name_line(kind: Kind, obj: Message) -> str:
    """The line `klctl get -o name` prints for `obj`."""
    return qualified_name(kind, obj.metadata.name)  # type: ignore[attr-defined]


def _cell(text: str) -> str:
    """kubectl cuts a cell at its first line break and marks the cut with `...`."""
    for index, char in enumerate(text):
        if char in "\n\r\f":
            return text[:index] + "..."
    return text


# ------------------------------------------------------------------------------------------ the rows


@dataclass(frozen=True, slots=True)
class Column:
    header: str
    wide: bool = False  # shown with -o wide only
    is_name: bool = False  # the column `get all` prefixes with kind.group/


def _columns(*headers: str) -> tuple[Column, ...]:
    """Columns from their headers; a leading "+" marks one shown with -o wide only."""
    found = []
    for header in headers:
        name = header.removeprefix("+")
        found.append(Column(name, wide=header.startswith("+"), is_name=name == "NAME"))
    return tuple(found)


def _containers(template: core_pb2.PodTemplateSpec) -> list[str]:
    containers = template.spec.containers
    return [",".join(c.name for c in containers), ",".join(c.image for c in containers)]


def _desired(spec: apps_pb2.DeploymentSpec | apps_pb2.ReplicaSetSpec | apps_pb2.StatefulSetSpec) -> int:
    """spec.replicas, or 1 (the API's default) when the field was never set."""
    return spec.replicas if spec.HasField("replicas") else 1


def _finished_at(status: core_pb2.ContainerStatus) -> datetime | None:
    if status.last_state.HasField("terminated"):
        return parse_time(status.last_state.terminated.finished_at)
    return None


def _later(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if candidate is None:
        return current
    return candidate if current is None or current < candidate else current


def _condition_true(conditions: Iterable[meta_pb2.Condition], kind: str) -> bool:
    return any(c.type == kind and c.status == "True" for c in conditions)


def _terminated_reason(state: core_pb2.ContainerStateTerminated, prefix: str = "") -> str:
    if state.reason:
        return prefix + state.reason
    if state.signal:
        return f"{prefix}Signal:{state.signal}"
    return f"{prefix}ExitCode:{state.exit_code}"


def pod_status(pod: core_pb2.Pod, now: datetime) -> tuple[str, str, str]:
    """(READY, STATUS, RESTARTS) as kubectl's printPod works them out."""
    spec, status = pod.spec, pod.status
    restarts = sidecar_restarts = ready = 0
    total = len(spec.containers)
    last_restart: datetime | None = None
    sidecar_last_restart: datetime | None = None
    reason = status.reason or status.phase
    for condition in status.conditions:
        if condition.type == "PodScheduled" and condition.reason == "SchedulingGated":
            reason = "SchedulingGated"

    sidecars = {c.name for c in spec.init_containers if c.restart_policy == "Always"}
    total += len(sidecars)
    initializing = False
    for index, container in enumerate(status.init_container_statuses):
        restarts += container.restart_count
        last_restart = _later(last_restart, _finished_at(container))
        is_sidecar = container.name in sidecars
        if is_sidecar:
            sidecar_restarts += container.restart_count
            sidecar_last_restart = _later(sidecar_last_restart, _finished_at(container))
        state = container.state
        if state.HasField("terminated") and state.terminated.exit_code == 0:
            continue
        if is_sidecar and container.HasField("started") and container.started:
            ready += 1 if container.ready else 0
            continue
        if state.HasField("terminated"):
            reason = _terminated_reason(state.terminated, "Init:")
        elif state.HasField("waiting") and state.waiting.reason and state.waiting.reason != "PodInitializing":
            reason = "Init:" + state.waiting.reason
        else:
            reason = f"Init:{index}/{len(spec.init_containers)}"
        initializing = True
        break

    if not initializing or _condition_true(status.conditions, "Initialized"):
        restarts, last_restart = sidecar_restarts, sidecar_last_restart
        has_running = False
        for container in reversed(status.container_statuses):
            restarts += container.restart_count
            last_restart = _later(last_restart, _finished_at(container))
            state = container.state
            if state.HasField("waiting") and state.waiting.reason:
                reason = state.waiting.reason
            elif state.HasField("terminated"):
                reason = _terminated_reason(state.terminated)
            elif container.ready and state.HasField("running"):
                has_running = True
                ready += 1
        if reason == "Completed" and has_running:
            reason = "Running" if _condition_true(status.conditions, "Ready") else "NotReady"

    if pod.metadata.deletion_timestamp:
        if status.reason == NODE_UNREACHABLE_REASON:
            reason = "Unknown"
        elif status.phase not in ("Succeeded", "Failed"):
            reason = "Terminating"

    restarts_text = str(restarts)
    if restarts and last_restart is not None:
        restarts_text = f"{restarts} ({since(last_restart, now)} ago)"
    return f"{ready}/{total}", reason, restarts_text


def pod_ips(pod: core_pb2.Pod) -> list[str]:
    ips = [entry.ip for entry in pod.status.pod_ips if entry.ip]
    return ips or ([pod.status.pod_ip] if pod.status.pod_ip else [])


def _pod_row(pod: core_pb2.Pod, now: datetime) -> list[str]:
    ready, status, restarts = pod_status(pod, now)
    ips = pod_ips(pod)
    return [pod.metadata.name, ready, status, restarts, age(pod.metadata.creation_timestamp, now),
            ips[0] if ips else NONE, pod.spec.node_name or NONE, pod.status.nominated_node_name or NONE, NONE]


def _load_balancer_addresses(status: core_pb2.LoadBalancerStatus) -> list[str]:
    found: list[str] = []
    for ingress in status.ingress:
        address = ingress.ip or ingress.hostname
        if address and address not in found:
            found.append(address)
    return found


def service_type(service: core_pb2.Service) -> str:
    return service.spec.type or "ClusterIP"


def service_external_ip(service: core_pb2.Service) -> str:
    spec = service.spec
    kind = service_type(service)
    if kind in ("ClusterIP", "NodePort"):
        return ",".join(spec.external_ips) or NONE
    if kind == "LoadBalancer":
        addresses = [*_load_balancer_addresses(service.status.load_balancer), *spec.external_ips]
        return ",".join(addresses) or "<pending>"
    if kind == "ExternalName":
        return spec.external_name
    return UNKNOWN


def service_ports(service: core_pb2.Service) -> str:
    pieces = []
    for port in service.spec.ports:
        protocol = port.protocol or "TCP"
        node_port = f":{port.node_port}" if port.node_port > 0 else ""
        pieces.append(f"{port.port}{node_port}/{protocol}")
    return ",".join(pieces)


def _service_row(service: core_pb2.Service, now: datetime) -> list[str]:
    spec = service.spec
    cluster_ip = spec.cluster_ips[0] if spec.cluster_ips else spec.cluster_ip or NONE
    return [service.metadata.name, service_type(service), cluster_ip, service_external_ip(service),
            service_ports(service) or NONE, age(service.metadata.creation_timestamp, now),
            format_labels(spec.selector)]


def _deployment_row(deployment: apps_pb2.Deployment, now: datetime) -> list[str]:
    status = deployment.status
    return [deployment.metadata.name, f"{status.ready_replicas}/{_desired(deployment.spec)}",
            str(status.updated_replicas), str(status.available_replicas),
            age(deployment.metadata.creation_timestamp, now), *_containers(deployment.spec.template),
            selector_string(deployment.spec.selector)]


def _replica_set_row(rs: apps_pb2.ReplicaSet, now: datetime) -> list[str]:
    return [rs.metadata.name, str(_desired(rs.spec)), str(rs.status.replicas), str(rs.status.ready_replicas),
            age(rs.metadata.creation_timestamp, now), *_containers(rs.spec.template),
            format_label_selector(rs.spec.selector)]


def _stateful_set_row(sts: apps_pb2.StatefulSet, now: datetime) -> list[str]:
    return [sts.metadata.name, f"{sts.status.ready_replicas}/{_desired(sts.spec)}",
            age(sts.metadata.creation_timestamp, now), *_containers(sts.spec.template)]


def _endpoints_row(endpoints: core_pb2.Endpoints, now: datetime) -> list[str]:
    meta = endpoints.metadata
    return [meta.name, format_endpoints(endpoints), age(meta.creation_timestamp, now)]


def _endpoint_slice_row(eps: discovery_pb2.EndpointSlice, now: datetime) -> list[str]:
    ports = []
    for port in eps.ports:
        if port.HasField("port"):
            ports.append(str(port.port))
        else:
            ports.append(port.name if port.HasField("name") else "*")
    addresses = [address for endpoint in eps.endpoints for address in endpoint.addresses]
    return [eps.metadata.name, eps.address_type, _with_more(ports, len(ports), UNSET),
            _with_more(addresses, len(addresses), UNSET), age(eps.metadata.creation_timestamp, now)]


def _namespace_row(namespace: core_pb2.Namespace, now: datetime) -> list[str]:
    return [namespace.metadata.name, namespace.status.phase, age(namespace.metadata.creation_timestamp, now)]


def node_status(node: core_pb2.Node) -> str:
    ready = [c for c in node.status.conditions if c.type == "Ready"]
    words = [("Ready" if ready[-1].status == "True" else "NotReady") if ready else "Unknown"]
    if node.spec.unschedulable:
        words.append("SchedulingDisabled")
    return ",".join(words)


def node_address(node: core_pb2.Node, kind: str) -> str:
    return next((a.address for a in node.status.addresses if a.type == kind), NONE)


def _node_row(node: core_pb2.Node, now: datetime) -> list[str]:
    info = node.status.node_info
    return [node.metadata.name, node_status(node), ",".join(node_roles(node)) or NONE,
            age(node.metadata.creation_timestamp, now), info.kubelet_version,
            node_address(node, "InternalIP"), node_address(node, "ExternalIP"), info.os_image or UNKNOWN,
            info.kernel_version or UNKNOWN, info.container_runtime_version or UNKNOWN]


def _config_map_row(config_map: core_pb2.ConfigMap, now: datetime) -> list[str]:
    return [config_map.metadata.name, str(len(config_map.data) + len(config_map.binary_data)),
            age(config_map.metadata.creation_timestamp, now)]


def _secret_row(secret: core_pb2.Secret, now: datetime) -> list[str]:
    meta = secret.metadata
    return [meta.name, secret.type, str(len(secret.data)), age(meta.creation_timestamp, now)]


def _pv_row(pv: core_pb2.PersistentVolume, now: datetime) -> list[str]:
    spec = pv.spec
    claim = f"{spec.claim_ref.namespace}/{spec.claim_ref.name}" if spec.HasField("claim_ref") else ""
    capacity = quantity(spec.capacity["storage"]) if "storage" in spec.capacity else "0"
    phase = "Terminating" if pv.metadata.deletion_timestamp else pv.status.phase
    return [pv.metadata.name, capacity, access_modes(spec.access_modes), spec.persistent_volume_reclaim_policy,
            phase, claim, pv_class(pv), UNSET, pv.status.reason, age(pv.metadata.creation_timestamp, now),
            spec.volume_mode or UNSET]


def _pvc_row(pvc: core_pb2.PersistentVolumeClaim, now: datetime) -> list[str]:
    capacity = modes = ""
    if pvc.spec.volume_name:
        modes = access_modes(pvc.status.access_modes)
        capacity = quantity(pvc.status.capacity["storage"]) if "storage" in pvc.status.capacity else "0"
    phase = "Terminating" if pvc.metadata.deletion_timestamp else pvc.status.phase
    volume_mode = pvc.spec.volume_mode if pvc.spec.HasField("volume_mode") else UNSET
    return [pvc.metadata.name, phase, pvc.spec.volume_name, capacity, modes, pvc_class(pvc), UNSET,
            age(pvc.metadata.creation_timestamp, now), volume_mode]


def _storage_class_row(sc: storage_pb2.StorageClass, now: datetime) -> list[str]:
    name = sc.metadata.name + (" (default)" if is_default_class(sc.metadata) else "")
    reclaim = sc.reclaim_policy if sc.HasField("reclaim_policy") else "Delete"
    binding = sc.volume_binding_mode if sc.HasField("volume_binding_mode") else "Immediate"
    expansion = "true" if sc.HasField("allow_volume_expansion") and sc.allow_volume_expansion else "false"
    return [name, sc.provisioner, reclaim, binding, expansion, age(sc.metadata.creation_timestamp, now)]


def ingress_hosts(rules: Sequence[networking_pb2.IngressRule]) -> str:
    hosts: list[str] = []
    more = False
    for rule in rules:
        if len(hosts) == _MAX_LISTED:
            more = True
        if not more and rule.host:
            hosts.append(rule.host)
    if not hosts:
        return "*"
    text = ",".join(hosts)
    return f"{text} + {len(rules) - _MAX_LISTED} more..." if more else text


def _ingress_row(ingress: networking_pb2.Ingress, now: datetime) -> list[str]:
    spec = ingress.spec
    class_name = spec.ingress_class_name if spec.HasField("ingress_class_name") else NONE
    return [ingress.metadata.name, class_name, ingress_hosts(spec.rules),
            ",".join(_load_balancer_addresses(ingress.status.load_balancer)), "80, 443" if spec.tls else "80",
            age(ingress.metadata.creation_timestamp, now)]


def _ingress_class_row(ingress_class: networking_pb2.IngressClass, now: datetime) -> list[str]:
    parameters = NONE
    if ingress_class.spec.HasField("parameters"):
        reference = ingress_class.spec.parameters
        group = f".{reference.api_group}" if reference.api_group else ""
        parameters = f"{reference.kind}{group}/{reference.name}"
    return [ingress_class.metadata.name, ingress_class.spec.controller, parameters,
            age(ingress_class.metadata.creation_timestamp, now)]


def _lease_row(lease: coordination_pb2.Lease, now: datetime) -> list[str]:
    return [lease.metadata.name, lease.spec.holder_identity, age(lease.metadata.creation_timestamp, now)]


def _event_times(event: core_pb2.Event, now: datetime) -> tuple[str, str]:
    """(first seen, last seen) ages of an event, as kubectl falls back from one time to another."""
    first = age(event.first_timestamp, now) if event.first_timestamp else age(event.event_time, now)
    last = age(event.last_timestamp, now) if event.last_timestamp else first
    return first, last


def _event_row(event: core_pb2.Event, now: datetime) -> list[str]:
    first, last = _event_times(event, now)
    involved = event.involved_object
    target = f"{involved.kind.lower()}/{involved.name}" if involved.name else involved.kind.lower()
    component = event.source.component or event.reporting_component
    instance = event.source.host or event.reporting_instance
    source = f"{component}, {instance}" if instance else component
    return [last, event.type, event.reason, target, involved.field_path, source, event.message.strip(), first,
            str(event.count or 1), event.metadata.name]


_Row = Callable[[Any, datetime], list[str]]

_TABLES: dict[str, tuple[tuple[Column, ...], _Row]] = {
    "Pod": (_columns("NAME", "READY", "STATUS", "RESTARTS", "AGE", "+IP", "+NODE", "+NOMINATED NODE",
                     "+READINESS GATES"), _pod_row),
    "Service": (_columns("NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE", "+SELECTOR"),
                _service_row),
    "Deployment": (_columns("NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE", "+CONTAINERS", "+IMAGES",
                            "+SELECTOR"), _deployment_row),
    "ReplicaSet": (_columns("NAME", "DESIRED", "CURRENT", "READY", "AGE", "+CONTAINERS", "+IMAGES",
                            "+SELECTOR"), _replica_set_row),
    "StatefulSet": (_columns("NAME", "READY", "AGE", "+CONTAINERS", "+IMAGES"), _stateful_set_row),
    "Endpoints": (_columns("NAME", "ENDPOINTS", "AGE"), _endpoints_row),
    "EndpointSlice": (_columns("NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"), _endpoint_slice_row),
    "Namespace": (_columns("NAME", "STATUS", "AGE"), _namespace_row),
    "Node": (_columns("NAME", "STATUS", "ROLES", "AGE", "VERSION", "+INTERNAL-IP", "+EXTERNAL-IP", "+OS-IMAGE",
                      "+KERNEL-VERSION", "+CONTAINER-RUNTIME"), _node_row),
    "ConfigMap": (_columns("NAME", "DATA", "AGE"), _config_map_row),
    "Secret": (_columns("NAME", "TYPE", "DATA", "AGE"), _secret_row),
    "PersistentVolume": (_columns("NAME", "CAPACITY", "ACCESS MODES", "RECLAIM POLICY", "STATUS", "CLAIM",
                                  "STORAGECLASS", "VOLUMEATTRIBUTESCLASS", "REASON", "AGE", "+VOLUMEMODE"),
                         _pv_row),
    "PersistentVolumeClaim": (_columns("NAME", "STATUS", "VOLUME", "CAPACITY", "ACCESS MODES", "STORAGECLASS",
                                       "VOLUMEATTRIBUTESCLASS", "AGE", "+VOLUMEMODE"), _pvc_row),
    "StorageClass": (_columns("NAME", "PROVISIONER", "RECLAIMPOLICY", "VOLUMEBINDINGMODE",
                              "ALLOWVOLUMEEXPANSION", "AGE"), _storage_class_row),
    "Ingress": (_columns("NAME", "CLASS", "HOSTS", "ADDRESS", "PORTS", "AGE"), _ingress_row),
    "IngressClass": (_columns("NAME", "CONTROLLER", "PARAMETERS", "AGE"), _ingress_class_row),
    "Lease": (_columns("NAME", "HOLDER", "AGE"), _lease_row),
    "Event": (_columns("LAST SEEN", "TYPE", "REASON", "OBJECT", "+SUBOBJECT", "+SOURCE", "MESSAGE",
                       "+FIRST SEEN", "+COUNT", "+NAME"), _event_row),
}
_GENERIC_COLUMNS = _columns("NAME", "AGE")


def _generic_row(obj: Any, now: datetime) -> list[str]:
    return [obj.metadata.name, age(obj.metadata.creation_timestamp, now)]


def table(kind: Kind, objects: Sequence[Message], *, now: datetime, wide: bool = False,
          with_namespace: bool = False, show_kind: bool = False, no_headers: bool = False) -> str:
    """`objects` (all of `kind`) as `kubectl get` prints them; "" when there are none.

    `with_namespace` adds the NAMESPACE column of `-A`; `show_kind` writes names as `deployment.apps/web`,
    as `get all` and `get pods,svc` do.
    """
    if not objects:
        return ""
    all_columns, row = _TABLES.get(kind.kind, (_GENERIC_COLUMNS, _generic_row))
    shown = [i for i, column in enumerate(all_columns) if wide or not column.wide]
    rows: list[list[str]] = []
    if not no_headers:
        rows.append((["NAMESPACE"] if with_namespace else []) + [all_columns[i].header for i in shown])
    for obj in objects:
        cells = row(obj, now)
        if show_kind:
            cells = [qualified_name(kind, cell) if column.is_name else cell
                     for column, cell in zip(all_columns, cells, strict=True)]
        namespace = [obj.metadata.namespace] if with_namespace else []  # type: ignore[attr-defined]
        rows.append(namespace + [_cell(cells[i]) for i in shown])
    text = "".join("\t".join(cells) + "\n" for cells in rows)
    return tabwrite(text, min_width=_TABLE_MIN_WIDTH, padding=_TABLE_PADDING)
