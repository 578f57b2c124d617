"""`klctl describe`: an object in detail with its events, laid out as kubectl 1.32 describes it.

Each kind has the sections kubectl's describer writes (k8s.io/kubectl/pkg/describe/describe.go), in the same
order and words; a kind without its own describer gets kubectl's generic one (every field, indented).
The text is built with tabs and aligned by `printers.tabwrite` with kubectl's settings, a section at a time
as kubectl flushes its writer. Pure: objects, events and `now` in, text out.

Some of kubectl's lines need objects it fetches on the side (a Service's endpoints, a Deployment's
ReplicaSets, the pods behind a ReplicaSet). The caller may pass them as `related`; when it passes nothing
(None) those lines are left out rather than guessed.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from google.protobuf.message import Message

from controlplane.api import codec
from controlplane.api.kinds import Kind
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
from controlplane.klctl.printers import (
    NONE,
    UNSET,
    access_modes,
    age,
    format_endpoints,
    format_label_selector,
    format_labels,
    int_or_string,
    is_default_class,
    node_roles,
    owner_controller,
    pod_ips,
    pv_class,
    pvc_class,
    quantity,
    selector_string,
    tabwrite,
)

_DESCRIBE_PADDING = 2
_MAX_ANNOTATION = 140
_SKIPPED_ANNOTATIONS = frozenset({"kubectl.kubernetes.io/last-applied-configuration"})
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_ZERO_TIME = "Mon, 01 Jan 0001 00:00:00 +0000"  # what Go prints for a time that was never set
_LONG_AGO = datetime.min.replace(tzinfo=UTC)


def rfc1123z(timestamp: str) -> str:
    """`Sat, 21 Nov 2026 13:05:00 +0000`: how kubectl describe writes a time."""
    moment = parse_time(timestamp)
    if moment is None:
        return _ZERO_TIME
    offset = moment.strftime("%z") or "+0000"
    return (f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} {moment.year:04d} "
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} {offset}")


def _bool(value: bool) -> str:
    """Go's %v of a bool."""
    return "true" if value else "false"


def _title_bool(value: bool) -> str:
    return "True" if value else "False"


def _go_list(values: Sequence[str]) -> str:
    """Go's %v of a []string: `[a b]`."""
    return "[" + " ".join(values) + "]"


class _Writer:
    """kubectl's PrefixWriter over a tabwriter: two spaces per level, aligned a section at a time."""

    def __init__(self) -> None:
        self._pending: list[str] = []
        self._done: list[str] = []

    def write(self, level: int, text: str) -> None:
        self._pending.append("  " * level + text)

    def line(self, text: str) -> None:
        """kubectl's WriteLine: the text and a newline, no indentation."""
        self._pending.append(text + "\n")

    def flush(self) -> None:
        self._done.append(tabwrite("".join(self._pending), min_width=0, padding=_DESCRIBE_PADDING))
        self._pending = []

    def text(self) -> str:
        self.flush()
        return "".join(self._done)


# ----------------------------------------------------------------------------------- shared sections


def _labels(w: _Writer, title: str, labels: Mapping[str, str], indent: str = "") -> None:
    w.write(0, f"{indent}{title}:\t")
    if not labels:
        w.line(NONE)
        return
    for index, key in enumerate(sorted(labels)):
        if index:
            w.write(0, f"{indent}\t")
        w.write(0, f"{key}={labels[key]}\n")


def _annotations(w: _Writer, title: str, annotations: Mapping[str, str]) -> None:
    w.write(0, f"{title}:\t")
    keys = sorted(key for key in annotations if key not in _SKIPPED_ANNOTATIONS)
    if not keys:
        w.line(NONE)
        return
    for index, key in enumerate(keys):
        if index:
            w.write(0, "\t")
        value = annotations[key].removesuffix("\n")
        if len(value) + len(key) + 2 > _MAX_ANNOTATION or "\n" in value:
            w.write(0, f"{key}:\n")
            for part in value.split("\n"):
                short = part if len(part) <= _MAX_ANNOTATION - 2 else part[:_MAX_ANNOTATION - 2] + "..."
                w.write(0, f"\t  {short}\n")
        else:
            w.write(0, f"{key}: {value}\n")


def _events(w: _Writer, events: Sequence[core_pb2.Event], now: datetime) -> None:
    if not events:
        w.write(0, "Events:\t<none>\n")
        return
    w.flush()
    w.write(0, "Events:\n  Type\tReason\tAge\tFrom\tMessage\n")
    w.write(1, "----\t------\t----\t----\t-------\n")
    ordered = sorted(events, key=lambda e: parse_time(e.last_timestamp) or _LONG_AGO)
    for event in ordered:
        first = age(event.event_time, now) if event.event_time else age(event.first_timestamp, now)
        interval = first
        if event.count > 1:
            interval = f"{age(event.last_timestamp, now)} (x{event.count} over {first})"
        source = event.source.component or event.reporting_component
        message = event.message.strip()
        w.write(1, f"{event.type}\t{event.reason}\t{interval}\t{source}\t{message}\n")


def _controlled_by(meta: meta_pb2.ObjectMeta) -> str:
    reference = owner_controller(meta)
    return f"{reference.kind}/{reference.name}" if reference else ""


def _related(related: Sequence[Message] | None, kind: type[Any]) -> list[Any]:
    return [obj for obj in related or () if isinstance(obj, kind)]


def _controlled_pods(related: Sequence[Message] | None, uid: str) -> list[core_pb2.Pod]:
    return [pod for pod in _related(related, core_pb2.Pod)
            if (reference := owner_controller(pod.metadata)) is not None and reference.uid == uid]


def _pods_status(w: _Writer, related: Sequence[Message] | None, uid: str) -> None:
    if related is None:
        return
    phases = [pod.status.phase for pod in _controlled_pods(related, uid)]
    counts = [phases.count(phase) for phase in ("Running", "Pending", "Succeeded", "Failed")]
    w.write(0, "Pods Status:\t{} Running / {} Waiting / {} Succeeded / {} Failed\n".format(*counts))


# ------------------------------------------------------------------------------------- containers


def _probe(probe: core_pb2.Probe) -> str:
    attrs = (f"delay={probe.initial_delay_seconds}s timeout={probe.timeout_seconds}s "
             f"period={probe.period_seconds}s #success={probe.success_threshold} "
             f"#failure={probe.failure_threshold}")
    if probe.HasField("exec"):
        return f"exec {_go_list(probe.exec.command)} {attrs}"
    if probe.HasField("http_get"):
        get = probe.http_get
        port = int_or_string(get.port) if get.HasField("port") else ""
        host = get.host
        if port:
            host = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        scheme = (get.scheme or "HTTP").lower()
        path = get.path if not get.path or get.path.startswith("/") else "/" + get.path
        return f"http-get {scheme}://{host}{path} {attrs}"
    if probe.HasField("tcp_socket"):
        return f"tcp-socket {probe.tcp_socket.host}:{int_or_string(probe.tcp_socket.port)} {attrs}"
    if probe.HasField("grpc"):
        return f"grpc <pod>:{probe.grpc.port} {probe.grpc.service} {attrs}"
    return f"unknown {attrs}"


def _ports(ports: Sequence[core_pb2.ContainerPort], host: bool) -> str:
    pieces = []
    for port in ports:
        text = f"{port.host_port if host else port.container_port}/{port.protocol or 'TCP'}"
        pieces.append(f"{text} ({port.name})" if port.name else text)
    return ", ".join(pieces)


def _state(w: _Writer, title: str, state: core_pb2.ContainerState) -> None:
    if state.HasField("running"):
        w.write(2, f"{title}:\tRunning\n")
        w.write(3, f"Started:\t{rfc1123z(state.running.started_at)}\n")
    elif state.HasField("waiting"):
        w.write(2, f"{title}:\tWaiting\n")
        if state.waiting.reason:
            w.write(3, f"Reason:\t{state.waiting.reason}\n")
    elif state.HasField("terminated"):
        done = state.terminated
        w.write(2, f"{title}:\tTerminated\n")
        if done.reason:
            w.write(3, f"Reason:\t{done.reason}\n")
        if done.message:
            w.write(3, f"Message:\t{done.message}\n")
        w.write(3, f"Exit Code:\t{done.exit_code}\n")
        if done.signal > 0:
            w.write(3, f"Signal:\t{done.signal}\n")
        w.write(3, f"Started:\t{rfc1123z(done.started_at)}\n")
        w.write(3, f"Finished:\t{rfc1123z(done.finished_at)}\n")
    else:
        w.write(2, f"{title}:\tWaiting\n")


def _resources(w: _Writer, resources: core_pb2.ResourceRequirements, level: int) -> None:
    for title, values in (("Limits", resources.limits), ("Requests", resources.requests)):
        if values:
            w.write(level, f"{title}:\n")
        for name in sorted(values):
            w.write(level + 1, f"{name}:\t{quantity(values[name])}\n")


_FieldResolver = Callable[[core_pb2.EnvVar], str]


def _pod_field(pod: core_pb2.Pod) -> _FieldResolver:
    """The value a fieldRef env var gets in `pod` (the downward API), as kubectl shows it."""

    def resolve(var: core_pb2.EnvVar) -> str:
        path = var.value_from.field_ref.field_path
        meta, spec, status = pod.metadata, pod.spec, pod.status
        for prefix, values in (("metadata.labels", meta.labels), ("metadata.annotations", meta.annotations)):
            if path.startswith(prefix + "['") and path.endswith("']"):
                return values.get(path[len(prefix) + 2:-2], "")
        simple = {
            "metadata.name": meta.name, "metadata.namespace": meta.namespace, "metadata.uid": meta.uid,
            "metadata.labels": format_labels(meta.labels, ""),
            "metadata.annotations": format_labels(meta.annotations, ""),
            "spec.nodeName": spec.node_name, "spec.serviceAccountName": spec.service_account_name,
            "status.hostIP": status.host_ip, "status.podIP": status.pod_ip,
            "status.podIPs": ",".join(pod_ips(pod)),
            "status.hostIPs": ",".join(ip.ip for ip in status.host_ips),
        }
        return simple.get(path, "")

    return resolve


def _resource_field(container: core_pb2.Container, var: core_pb2.EnvVar) -> str:
    resource = var.value_from.resource_field_ref.resource
    group, _, name = resource.partition(".")
    values = container.resources.limits if group == "limits" else container.resources.requests
    value = quantity(values[name]) if name in values else "0"
    if value == "0" and resource in ("limits.cpu", "limits.memory"):
        return "node allocatable"
    return value


def _env(w: _Writer, container: core_pb2.Container, resolve: _FieldResolver | None) -> None:
    w.write(2, "Environment:" + ("" if container.env else "\t<none>") + "\n")
    for var in container.env:
        if not var.HasField("value_from"):
            for index, part in enumerate(var.value.split("\n")):
                w.write(3, f"{var.name}:\t{part}\n" if index == 0 else f"\t{part}\n")
            continue
        source = var.value_from
        if source.HasField("field_ref"):
            value = resolve(var) if resolve else ""
            field = source.field_ref
            w.write(3, f"{var.name}:\t{value} ({field.api_version}:{field.field_path})\n")
        elif source.HasField("resource_field_ref"):
            value = _resource_field(container, var)
            w.write(3, f"{var.name}:\t{value} ({source.resource_field_ref.resource})\n")
        elif source.HasField("secret_key_ref"):
            ref = source.secret_key_ref
            optional = _bool(ref.HasField("optional") and ref.optional)
            w.write(3, f"{var.name}:\t<set to the key '{ref.key}' in secret '{ref.name}'>\t"
                       f"Optional: {optional}\n")
        elif source.HasField("config_map_key_ref"):
            cm_ref = source.config_map_key_ref
            optional = _bool(cm_ref.HasField("optional") and cm_ref.optional)
            w.write(3, f"{var.name}:\t<set to the key '{cm_ref.key}' of config map '{cm_ref.name}'>\t"
                       f"Optional: {optional}\n")


def _env_from(w: _Writer, container: core_pb2.Container) -> None:
    w.write(2, "Environment Variables from:\n")
    for source in container.env_from:
        origin, name, optional = "", "", False
        if source.HasField("config_map_ref"):
            origin, name = "ConfigMap", source.config_map_ref.name
            optional = source.config_map_ref.HasField("optional") and source.config_map_ref.optional
        elif source.HasField("secret_ref"):
            origin, name = "Secret", source.secret_ref.name
            optional = source.secret_ref.HasField("optional") and source.secret_ref.optional
        if source.prefix:
            origin = f"{origin} with prefix '{source.prefix}'"
        w.write(3, f"{name}\t{origin}\tOptional: {_bool(optional)}\n")


def _mounts(w: _Writer, container: core_pb2.Container) -> None:
    w.write(2, "Mounts:" + ("" if container.volume_mounts else "\t<none>") + "\n")
    for mount in sorted(container.volume_mounts, key=lambda m: m.mount_path):
        flags = ["ro" if mount.read_only else "rw"]
        if mount.sub_path:
            flags.append(f"path={json.dumps(mount.sub_path)}")
        w.write(3, f"{mount.mount_path} from {mount.name} ({','.join(flags)})\n")


def _containers(w: _Writer, title: str, containers: Sequence[core_pb2.Container],
                statuses: Sequence[core_pb2.ContainerStatus], resolve: _FieldResolver | None,
                space: str = "") -> None:
    by_name = {status.name: status for status in statuses}
    w.write(0, f"{space}{title}:{'' if containers else ' <none>'}\n")
    for container in containers:
        status = by_name.get(container.name)
        w.write(1, f"{' ' if space else ''}{container.name}:\n")
        if status is not None:
            w.write(2, f"Container ID:\t{status.container_id}\n")
        w.write(2, f"Image:\t{container.image}\n")
        if status is not None:
            w.write(2, f"Image ID:\t{status.image_id}\n")
        for label, text in (("Port", _ports(container.ports, host=False)),
                            ("Host Port", _ports(container.ports, host=True))):
            if "," in text:
                w.write(2, f"{label}s:\t{text}\n")
            else:
                w.write(2, f"{label}:\t{text or NONE}\n")
        if container.HasField("security_context") and container.security_context.HasField("seccomp_profile"):
            profile = container.security_context.seccomp_profile
            w.write(2, f"SeccompProfile:\t{profile.type}\n")
            if profile.type == "Localhost":
                w.write(3, f"LocalhostProfile:\t{profile.localhost_profile}\n")
        for label, words in (("Command", container.command), ("Args", container.args)):
            if words:
                w.write(2, f"{label}:\n")
                for word in words:
                    for part in word.split("\n"):
                        w.write(3, f"{part}\n")
        if status is not None:
            _state(w, "State", status.state)
            if status.last_state.HasField("terminated"):
                _state(w, "Last State", status.last_state)
            w.write(2, f"Ready:\t{_title_bool(status.ready)}\n")
            w.write(2, f"Restart Count:\t{status.restart_count}\n")
        _resources(w, container.resources, 2)
        for label, field in (("Liveness", "liveness_probe"), ("Readiness", "readiness_probe"),
                             ("Startup", "startup_probe")):
            if container.HasField(field):
                w.write(2, f"{label}:\t{_probe(getattr(container, field))}\n")
        if container.env_from:
            _env_from(w, container)
        _env(w, container, resolve)
        _mounts(w, container)


# ---------------------------------------------------------------------------------------- volumes


def _volume_source(w: _Writer, volume: core_pb2.Volume) -> None:
    if volume.HasField("host_path"):
        w.write(2, f"Type:\tHostPath (bare host directory volume)\n    Path:\t{volume.host_path.path}\n"
                   f"    HostPathType:\t{volume.host_path.type}\n")
    elif volume.HasField("empty_dir"):
        size = quantity(volume.empty_dir.size_limit)
        limit = size if volume.empty_dir.HasField("size_limit") and size not in ("", "0") else UNSET
        w.write(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n"
                   f"    Medium:\t{volume.empty_dir.medium}\n    SizeLimit:\t{limit}\n")
    elif volume.HasField("secret"):
        optional = _bool(volume.secret.HasField("optional") and volume.secret.optional)
        w.write(2, "Type:\tSecret (a volume populated by a Secret)\n"
                   f"    SecretName:\t{volume.secret.secret_name}\n    Optional:\t{optional}\n")
    elif volume.HasField("config_map"):
        optional = _bool(volume.config_map.HasField("optional") and volume.config_map.optional)
        w.write(2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n"
                   f"    Name:\t{volume.config_map.name}\n    Optional:\t{optional}\n")
    elif volume.HasField("nfs"):
        nfs = volume.nfs
        w.write(2, "Type:\tNFS (an NFS mount that lasts the lifetime of a pod)\n"
                   f"    Server:\t{nfs.server}\n    Path:\t{nfs.path}\n"
                   f"    ReadOnly:\t{_bool(nfs.read_only)}\n")
    elif volume.HasField("persistent_volume_claim"):
        claim = volume.persistent_volume_claim
        w.write(2, "Type:\tPersistentVolumeClaim "
                   "(a reference to a PersistentVolumeClaim in the same namespace)\n"
                   f"    ClaimName:\t{claim.claim_name}\n    ReadOnly:\t{_bool(claim.read_only)}\n")
    elif volume.HasField("downward_api"):
        w.write(2, "Type:\tDownwardAPI (a volume populated by information about the pod)\n    Items:\n")
        for item in volume.downward_api.items:
            if item.HasField("field_ref"):
                w.write(3, f"{item.field_ref.field_path} -> {item.path}\n")
            if item.HasField("resource_field_ref"):
                w.write(3, f"{item.resource_field_ref.resource} -> {item.path}\n")
    elif volume.HasField("projected"):
        _projected(w, volume.projected)
    else:
        w.write(1, "<unknown>\n")


def _projected(w: _Writer, projected: core_pb2.ProjectedVolumeSource) -> None:
    w.write(2, "Type:\tProjected (a volume that contains injected data from multiple sources)\n")
    for source in projected.sources:
        if source.HasField("secret"):
            optional = _bool(source.secret.HasField("optional") and source.secret.optional)
            w.write(2, f"SecretName:\t{source.secret.name}\n    Optional:\t{optional}\n")
        elif source.HasField("downward_api"):
            w.write(2, "DownwardAPI:\ttrue\n")
        elif source.HasField("config_map"):
            optional = _bool(source.config_map.HasField("optional") and source.config_map.optional)
            w.write(2, f"ConfigMapName:\t{source.config_map.name}\n    Optional:\t{optional}\n")
        elif source.HasField("service_account_token"):
            w.write(2, f"TokenExpirationSeconds:\t{source.service_account_token.expiration_seconds}\n")


def _volumes(w: _Writer, volumes: Sequence[core_pb2.Volume], space: str = "") -> None:
    if not volumes:
        w.write(0, f"{space}Volumes:\t<none>\n")
        return
    w.write(0, f"{space}Volumes:\n")
    for volume in volumes:
        w.write(1, f"{' ' if space else ''}{volume.name}:\n")
        _volume_source(w, volume)


def _tolerations(w: _Writer, title: str, tolerations: Sequence[core_pb2.Toleration]) -> None:
    w.write(0, f"{title}:\t")
    if not tolerations:
        w.line(NONE)
        return
    for index, toleration in enumerate(sorted(tolerations, key=lambda t: t.key)):
        if index:
            w.write(0, "\t")
        text = toleration.key
        if toleration.value:
            text += f"={toleration.value}"
        if toleration.effect:
            text += f":{toleration.effect}"
        if toleration.operator == "Exists" and not toleration.value:
            text += " op=Exists" if toleration.key or toleration.effect else "op=Exists"
        if toleration.HasField("toleration_seconds"):
            text += f" for {toleration.toleration_seconds}s"
        w.write(0, text + "\n")


def _spread_constraints(w: _Writer, constraints: Sequence[core_pb2.TopologySpreadConstraint],
                        space: str = "") -> None:
    if not constraints:
        return
    w.write(0, f"{space}Topology Spread Constraints:\t")
    for index, constraint in enumerate(sorted(constraints, key=lambda c: c.topology_key)):
        if index:
            w.write(0, f"{space}\t")
        text = (f"{constraint.topology_key}:{constraint.when_unsatisfiable} "
                f"when max skew {constraint.max_skew} is exceeded")
        if constraint.HasField("label_selector"):
            text += f" for selector {format_label_selector(constraint.label_selector)}"
        w.write(0, text + "\n")


def _pod_template(w: _Writer, template: core_pb2.PodTemplateSpec) -> None:
    spec = template.spec
    w.write(0, "Pod Template:\n")
    _labels(w, "  Labels", template.metadata.labels)
    if template.metadata.annotations:
        _annotations(w, "  Annotations", template.metadata.annotations)
    if spec.service_account_name:
        w.write(1, f"Service Account:\t{spec.service_account_name}\n")
    if spec.init_containers:
        _containers(w, "Init Containers", spec.init_containers, (), None, "  ")
    _containers(w, "Containers", spec.containers, (), None, "  ")
    _volumes(w, spec.volumes, "  ")
    _spread_constraints(w, spec.topology_spread_constraints, "  ")
    if spec.priority_class_name:
        w.write(1, f"Priority Class Name:\t{spec.priority_class_name}\n")
    _labels(w, "  Node-Selectors", spec.node_selector)
    _tolerations(w, "  Tolerations", spec.tolerations)


def _conditions_by_reason(w: _Writer, conditions: Sequence[meta_pb2.Condition]) -> None:
    if conditions:
        w.write(0, "Conditions:\n  Type\tStatus\tReason\n")
        w.write(1, "----\t------\t------\n")
        for condition in conditions:
            w.write(1, f"{condition.type} \t{condition.status}\t{condition.reason}\n")


# ----------------------------------------------------------------------------------- the describers


def _pod(w: _Writer, pod: core_pb2.Pod, related: Sequence[Message] | None, now: datetime) -> None:
    meta, spec, status = pod.metadata, pod.spec, pod.status
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    if spec.HasField("priority"):
        w.write(0, f"Priority:\t{spec.priority}\n")
    if spec.priority_class_name:
        w.write(0, f"Priority Class Name:\t{spec.priority_class_name}\n")
    if spec.service_account_name:
        w.write(0, f"Service Account:\t{spec.service_account_name}\n")
    w.write(0, f"Node:\t{spec.node_name}/{status.host_ip}\n" if spec.node_name else "Node:\t<none>\n")
    if status.start_time:
        w.write(0, f"Start Time:\t{rfc1123z(status.start_time)}\n")
    _labels(w, "Labels", meta.labels)
    _annotations(w, "Annotations", meta.annotations)
    if meta.deletion_timestamp and status.phase not in ("Failed", "Succeeded"):
        w.write(0, f"Status:\tTerminating (lasts {age(meta.deletion_timestamp, now)})\n")
        if meta.HasField("deletion_grace_period_seconds"):
            w.write(0, f"Termination Grace Period:\t{meta.deletion_grace_period_seconds}s\n")
    else:
        w.write(0, f"Status:\t{status.phase}\n")
    if status.reason:
        w.write(0, f"Reason:\t{status.reason}\n")
    if status.message:
        w.write(0, f"Message:\t{status.message}\n")
    if spec.HasField("security_context") and spec.security_context.HasField("seccomp_profile"):
        profile = spec.security_context.seccomp_profile
        w.write(0, f"SeccompProfile:\t{profile.type}\n")
        if profile.type == "Localhost":
            w.write(0, f"LocalhostProfile:\t{profile.localhost_profile}\n")
    w.write(0, f"IP:\t{status.pod_ip}\n")
    ips = pod_ips(pod)
    if ips:
        w.write(0, "IPs:\n")
        for ip in ips:
            w.write(1, f"IP:\t{ip}\n")
    else:
        w.write(0, "IPs:\t<none>\n")
    if controlled_by := _controlled_by(meta):
        w.write(0, f"Controlled By:\t{controlled_by}\n")
    if status.nominated_node_name:
        w.write(0, f"NominatedNodeName:\t{status.nominated_node_name}\n")
    resolve = _pod_field(pod)
    if spec.init_containers:
        _containers(w, "Init Containers", spec.init_containers, status.init_container_statuses, resolve)
    _containers(w, "Containers", spec.containers, status.container_statuses, resolve)
    if status.conditions:
        w.write(0, "Conditions:\n  Type\tStatus\n")
        for condition in status.conditions:
            w.write(1, f"{condition.type} \t{condition.status} \n")
    _volumes(w, spec.volumes)
    w.write(0, f"QoS Class:\t{status.qos_class}\n")
    _labels(w, "Node-Selectors", spec.node_selector)
    _tolerations(w, "Tolerations", spec.tolerations)
    _spread_constraints(w, spec.topology_spread_constraints)


def _load_balancer_ingress(ingress: Sequence[core_pb2.LoadBalancerIngress]) -> str:
    pieces = []
    for entry in ingress:
        if entry.ip:
            pieces.append(entry.ip + (f" ({entry.ip_mode})" if entry.ip_mode else ""))
        else:
            pieces.append(entry.hostname)
    return ", ".join(pieces)


def _endpoints_of(related: Sequence[Message] | None, namespace: str, name: str) -> core_pb2.Endpoints:
    """The Endpoints named `name` among `related` (an empty one when it is not there)."""
    found: list[core_pb2.Endpoints] = [e for e in _related(related, core_pb2.Endpoints)
                                       if e.metadata.name == name and e.metadata.namespace == namespace]
    return found[0] if found else core_pb2.Endpoints()


def _service(w: _Writer, service: core_pb2.Service, related: Sequence[Message] | None, now: datetime) -> None:
    meta, spec = service.metadata, service.spec
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    _labels(w, "Labels", meta.labels)
    _annotations(w, "Annotations", meta.annotations)
    w.write(0, f"Selector:\t{format_labels(spec.selector)}\n")
    w.write(0, f"Type:\t{spec.type}\n")
    if spec.ip_family_policy:
        w.write(0, f"IP Family Policy:\t{spec.ip_family_policy}\n")
    w.write(0, f"IP Families:\t{','.join(spec.ip_families) or NONE}\n")
    w.write(0, f"IP:\t{spec.cluster_ip}\n")
    w.write(0, f"IPs:\t{','.join(spec.cluster_ips) or NONE}\n")
    if spec.external_ips:
        w.write(0, f"External IPs:\t{','.join(spec.external_ips)}\n")
    if spec.load_balancer_ip:
        w.write(0, f"Desired LoadBalancer IP:\t{spec.load_balancer_ip}\n")
    if spec.external_name:
        w.write(0, f"External Name:\t{spec.external_name}\n")
    if service.status.load_balancer.ingress:
        w.write(0, f"LoadBalancer Ingress:\t{_load_balancer_ingress(service.status.load_balancer.ingress)}\n")
    endpoints = _endpoints_of(related, meta.namespace, meta.name) if related is not None else None
    for port in spec.ports:
        name = port.name or UNSET
        protocol = port.protocol or "TCP"
        w.write(0, f"Port:\t{name}\t{port.port}/{protocol}\n")
        target = int_or_string(port.target_port) if port.HasField("target_port") else str(port.port)
        w.write(0, f"TargetPort:\t{target}/{protocol}\n")
        if port.app_protocol:
            w.write(0, f"AppProtocol:\t{port.app_protocol}\n")
        if port.node_port:
            w.write(0, f"NodePort:\t{name}\t{port.node_port}/{protocol}\n")
        if endpoints is not None:
            w.write(0, f"Endpoints:\t{format_endpoints(endpoints, {port.name})}\n")
    w.write(0, f"Session Affinity:\t{spec.session_affinity}\n")
    if spec.external_traffic_policy:
        w.write(0, f"External Traffic Policy:\t{spec.external_traffic_policy}\n")
    if spec.internal_traffic_policy:
        w.write(0, f"Internal Traffic Policy:\t{spec.internal_traffic_policy}\n")
    if spec.health_check_node_port:
        w.write(0, f"HealthCheck NodePort:\t{spec.health_check_node_port}\n")
    if spec.load_balancer_source_ranges:
        w.write(0, f"LoadBalancer Source Ranges:\t{','.join(spec.load_balancer_source_ranges)}\n")


def _without_hash(template: core_pb2.PodTemplateSpec) -> core_pb2.PodTemplateSpec:
    copy = core_pb2.PodTemplateSpec()
    copy.CopyFrom(template)
    copy.metadata.labels.pop("pod-template-hash", None)
    return copy


def _replica_sets(related: Sequence[Message] | None, deployment: apps_pb2.Deployment,
                  ) -> tuple[list[apps_pb2.ReplicaSet], list[apps_pb2.ReplicaSet]]:
    """(old, new) ReplicaSets of `deployment` among `related`, as kubectl's deployment util sorts them."""
    uid = deployment.metadata.uid
    owned = [rs for rs in _related(related, apps_pb2.ReplicaSet)
             if (reference := owner_controller(rs.metadata)) is not None and reference.uid == uid]
    owned.sort(key=lambda rs: (rs.metadata.creation_timestamp, rs.metadata.name))
    wanted = _without_hash(deployment.spec.template)
    new = [rs for rs in owned if _without_hash(rs.spec.template) == wanted][:1]
    return [rs for rs in owned if rs not in new], new


def _replica_set_list(sets: Sequence[apps_pb2.ReplicaSet]) -> str:
    text = ", ".join(f"{rs.metadata.name} ({rs.status.replicas}/{rs.spec.replicas} replicas created)"
                     for rs in sets)
    return text or NONE


def _deployment(w: _Writer, deployment: apps_pb2.Deployment, related: Sequence[Message] | None,
                now: datetime) -> None:
    meta, spec, status = deployment.metadata, deployment.spec, deployment.status
    desired = spec.replicas if spec.HasField("replicas") else 1
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    w.write(0, f"CreationTimestamp:\t{rfc1123z(meta.creation_timestamp)}\n")
    _labels(w, "Labels", meta.labels)
    _annotations(w, "Annotations", meta.annotations)
    w.write(0, f"Selector:\t{selector_string(spec.selector)}\n")
    w.write(0, f"Replicas:\t{desired} desired | {status.updated_replicas} updated | "
               f"{status.replicas} total | {status.available_replicas} available | "
               f"{status.unavailable_replicas} unavailable\n")
    w.write(0, f"StrategyType:\t{spec.strategy.type}\n")
    w.write(0, f"MinReadySeconds:\t{spec.min_ready_seconds}\n")
    if spec.strategy.HasField("rolling_update"):
        rolling = spec.strategy.rolling_update
        w.write(0, f"RollingUpdateStrategy:\t{int_or_string(rolling.max_unavailable)} max unavailable, "
                   f"{int_or_string(rolling.max_surge)} max surge\n")
    _pod_template(w, spec.template)
    _conditions_by_reason(w, status.conditions)
    old, new = _replica_sets(related, deployment)
    if old or new:
        w.write(0, f"OldReplicaSets:\t{_replica_set_list(old)}\n")
        w.write(0, f"NewReplicaSet:\t{_replica_set_list(new)}\n")


def _replica_set(w: _Writer, rs: apps_pb2.ReplicaSet, related: Sequence[Message] | None,
                 now: datetime) -> None:
    meta = rs.metadata
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    w.write(0, f"Selector:\t{format_label_selector(rs.spec.selector)}\n")
    _labels(w, "Labels", meta.labels)
    _annotations(w, "Annotations", meta.annotations)
    if controlled_by := _controlled_by(meta):
        w.write(0, f"Controlled By:\t{controlled_by}\n")
    desired = rs.spec.replicas if rs.spec.HasField("replicas") else 1
    w.write(0, f"Replicas:\t{rs.status.replicas} current / {desired} desired\n")
    _pods_status(w, related, meta.uid)
    _pod_template(w, rs.spec.template)
    _conditions_by_reason(w, rs.status.conditions)


def _claim_templates(w: _Writer, templates: Sequence[core_pb2.PersistentVolumeClaim]) -> None:
    if not templates:
        w.write(0, "Volume Claims:\t<none>\n")
        return
    w.write(0, "Volume Claims:\n")
    for claim in templates:
        w.write(1, f"Name:\t{claim.metadata.name}\n")
        w.write(1, f"StorageClass:\t{pvc_class(claim)}\n")
        _labels(w, "Labels", claim.metadata.labels, indent="  ")
        _labels(w, "Annotations", claim.metadata.annotations, indent="  ")
        requests = claim.spec.resources.requests
        w.write(1, f"Capacity:\t{quantity(requests['storage']) if 'storage' in requests else '<default>'}\n")
        w.write(1, f"Access Modes:\t{_go_list(claim.spec.access_modes)}\n")


def _stateful_set(w: _Writer, sts: apps_pb2.StatefulSet, related: Sequence[Message] | None,
                  now: datetime) -> None:
    meta, spec = sts.metadata, sts.spec
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    w.write(0, f"CreationTimestamp:\t{rfc1123z(meta.creation_timestamp)}\n")
    w.write(0, f"Selector:\t{selector_string(spec.selector)}\n")
    _labels(w, "Labels", meta.labels)
    _annotations(w, "Annotations", meta.annotations)
    desired = spec.replicas if spec.HasField("replicas") else 1
    w.write(0, f"Replicas:\t{desired} desired | {sts.status.replicas} total\n")
    w.write(0, f"Update Strategy:\t{spec.update_strategy.type}\n")
    rolling = spec.update_strategy.rolling_update
    if spec.update_strategy.HasField("rolling_update") and rolling.HasField("partition"):
        w.write(1, f"Partition:\t{rolling.partition}\n")
        if rolling.HasField("max_unavailable"):
            w.write(1, f"MaxUnavailable:\t{int_or_string(rolling.max_unavailable)}\n")
    _pods_status(w, related, meta.uid)
    _pod_template(w, spec.template)
    _claim_templates(w, spec.volume_claim_templates)


def _taint(taint: core_pb2.Taint) -> str:
    text = taint.key + (f"={taint.value}" if taint.value else "")
    if taint.effect:
        return f"{text}:{taint.effect}"
    return f"{text}:" if taint.value else text


def _node(w: _Writer, node: core_pb2.Node, related: Sequence[Message] | None, now: datetime) -> None:
    meta, spec, status = node.metadata, node.spec, node.status
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Roles:\t{','.join(node_roles(node)) or NONE}\n")
    _labels(w, "Labels", meta.labels)
    _annotations(w, "Annotations", meta.annotations)
    w.write(0, f"CreationTimestamp:\t{rfc1123z(meta.creation_timestamp)}\n")
    w.write(0, "Taints:\t")
    if not spec.taints:
        w.line(NONE)
    for index, taint in enumerate(sorted(spec.taints, key=lambda t: f"{t.effect},{t.key}")):
        w.write(0, ("\t" if index else "") + _taint(taint) + "\n")
    w.write(0, f"Unschedulable:\t{_bool(spec.unschedulable)}\n")
    for lease in _related(related, coordination_pb2.Lease):
        if lease.metadata.name == meta.name:
            held = lease.spec
            w.write(0, "Lease:\n")
            w.write(1, f"HolderIdentity:\t{held.holder_identity if held.HasField('holder_identity') else UNSET}\n")
            w.write(1, f"AcquireTime:\t{rfc1123z(held.acquire_time) if held.acquire_time else UNSET}\n")
            w.write(1, f"RenewTime:\t{rfc1123z(held.renew_time) if held.renew_time else UNSET}\n")
    if status.conditions:
        w.write(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n")
        w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
        for c in status.conditions:
            w.write(1, f"{c.type} \t{c.status} \t{rfc1123z(c.last_heartbeat_time)} \t"
                       f"{rfc1123z(c.last_transition_time)} \t{c.reason} \t{c.message}\n")
    w.write(0, "Addresses:\n")
    for address in status.addresses:
        w.write(1, f"{address.type}:\t{address.address}\n")
    for title, values in (("Capacity", status.capacity), ("Allocatable", status.allocatable)):
        if values:
            w.write(0, f"{title}:\n")
            for name in sorted(values):
                w.write(0, f"  {name}:\t{quantity(values[name])}\n")
    info = status.node_info
    w.write(0, "System Info:\n")
    for label, value in (("Machine ID", info.machine_id), ("System UUID", info.system_uuid),
                         ("Boot ID", info.boot_id), ("Kernel Version", info.kernel_version),
                         ("OS Image", info.os_image), ("Operating System", info.operating_system),
                         ("Architecture", info.architecture),
                         ("Container Runtime Version", info.container_runtime_version),
                         ("Kubelet Version", info.kubelet_version)):
        w.write(0, f"  {label}:\t{value}\n")
    if spec.pod_cidr:
        w.write(0, f"PodCIDR:\t{spec.pod_cidr}\n")
    if spec.pod_cidrs:
        w.write(0, f"PodCIDRs:\t{','.join(spec.pod_cidrs)}\n")
    if spec.provider_id:
        w.write(0, f"ProviderID:\t{spec.provider_id}\n")


def _namespace(w: _Writer, namespace: core_pb2.Namespace, related: Sequence[Message] | None,
               now: datetime) -> None:
    meta = namespace.metadata
    w.write(0, f"Name:\t{meta.name}\n")
    _labels(w, "Labels", meta.labels)
    _annotations(w, "Annotations", meta.annotations)
    w.write(0, f"Status:\t{namespace.status.phase}\n")
    if namespace.status.conditions:
        w.write(0, "Conditions:\n")
        w.write(1, "Type\tStatus\tLastTransitionTime\tReason\tMessage\n")
        w.write(1, "----\t------\t------------------\t------\t-------\n")
        for c in namespace.status.conditions:
            w.write(1, f"{c.type}\t{c.status}\t{rfc1123z(c.last_transition_time)}\t{c.reason}\t{c.message}\n")


def _config_map(w: _Writer, config_map: core_pb2.ConfigMap, related: Sequence[Message] | None,
                now: datetime) -> None:
    meta = config_map.metadata
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    _labels(w, "Labels", meta.labels)
    _annotations(w, "Annotations", meta.annotations)
    w.write(0, "\nData\n====\n")
    for key in sorted(config_map.data):
        w.write(0, f"{key}:\n----\n{config_map.data[key]}\n\n")
    w.write(0, "\nBinaryData\n====\n")
    for key in sorted(config_map.binary_data):
        w.write(0, f"{key}: {len(config_map.binary_data[key])} bytes\n")
    w.write(0, "\n")


def _secret(w: _Writer, secret: core_pb2.Secret, related: Sequence[Message] | None, now: datetime) -> None:
    meta = secret.metadata
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    _labels(w, "Labels", meta.labels)
    _annotations(w, "Annotations", meta.annotations)
    w.write(0, f"\nType:\t{secret.type}\n")
    w.write(0, "\nData\n====\n")
    for key in sorted(secret.data):
        value = secret.data[key]
        if key == "token" and secret.type == "kubernetes.io/service-account-token":
            w.write(0, f"{key}:\t{value.decode(errors='replace')}\n")
        else:
            w.write(0, f"{key}:\t{len(value)} bytes\n")


def _pv(w: _Writer, pv: core_pb2.PersistentVolume, related: Sequence[Message] | None, now: datetime) -> None:
    meta, spec = pv.metadata, pv.spec
    w.write(0, f"Name:\t{meta.name}\n")
    _labels(w, "Labels", meta.labels)
    _annotations(w, "Annotations", meta.annotations)
    w.write(0, f"Finalizers:\t{_go_list(meta.finalizers)}\n")
    w.write(0, f"StorageClass:\t{pv_class(pv)}\n")
    if meta.deletion_timestamp:
        w.write(0, f"Status:\tTerminating (lasts {age(meta.deletion_timestamp, now)})\n")
    else:
        w.write(0, f"Status:\t{pv.status.phase}\n")
    claim = f"{spec.claim_ref.namespace}/{spec.claim_ref.name}" if spec.HasField("claim_ref") else ""
    w.write(0, f"Claim:\t{claim}\n")
    w.write(0, f"Reclaim Policy:\t{spec.persistent_volume_reclaim_policy}\n")
    w.write(0, f"Access Modes:\t{access_modes(spec.access_modes)}\n")
    if spec.volume_mode:
        w.write(0, f"VolumeMode:\t{spec.volume_mode}\n")
    w.write(0, f"Capacity:\t{quantity(spec.capacity['storage']) if 'storage' in spec.capacity else '0'}\n")
    w.write(0, "Node Affinity:\t")
    required = spec.node_affinity.required
    if not (spec.HasField("node_affinity") and spec.node_affinity.HasField("required")):
        w.line(NONE)
    else:
        w.line("")
        w.write(1, "Required Terms:\t")
        w.line("" if required.node_selector_terms else NONE)
        _selector_terms(w, 2, [[(r.key, r.operator.lower(), list(r.values)) for r in term.match_expressions]
                               for term in required.node_selector_terms])
    w.write(0, f"Message:\t{pv.status.message}\n")
    w.write(0, "Source:\n")
    if spec.HasField("host_path"):
        w.write(2, f"Type:\tHostPath (bare host directory volume)\n    Path:\t{spec.host_path.path}\n"
                   f"    HostPathType:\t{spec.host_path.type}\n")
    elif spec.HasField("local"):
        w.write(2, f"Type:\tLocalVolume (a persistent volume backed by local storage on a node)\n"
                   f"    Path:\t{spec.local.path}\n")
    elif spec.HasField("nfs"):
        w.write(2, "Type:\tNFS (an NFS mount that lasts the lifetime of a pod)\n"
                   f"    Server:\t{spec.nfs.server}\n    Path:\t{spec.nfs.path}\n"
                   f"    ReadOnly:\t{_bool(spec.nfs.read_only)}\n")
    else:
        w.write(1, "<unknown>\n")


def _pvc(w: _Writer, pvc: core_pb2.PersistentVolumeClaim, related: Sequence[Message] | None,
         now: datetime) -> None:
    meta, spec = pvc.metadata, pvc.spec
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    w.write(0, f"StorageClass:\t{pvc_class(pvc)}\n")
    if meta.deletion_timestamp:
        w.write(0, f"Status:\tTerminating (lasts {age(meta.deletion_timestamp, now)})\n")
    else:
        w.write(0, f"Status:\t{pvc.status.phase}\n")
    w.write(0, f"Volume:\t{spec.volume_name}\n")
    _labels(w, "Labels", meta.labels)
    _annotations(w, "Annotations", meta.annotations)
    w.write(0, f"Finalizers:\t{_go_list(meta.finalizers)}\n")
    capacity = modes = ""
    if spec.volume_name:
        modes = access_modes(pvc.status.access_modes)
        capacity = quantity(pvc.status.capacity["storage"]) if "storage" in pvc.status.capacity else "0"
    w.write(0, f"Capacity:\t{capacity}\n")
    w.write(0, f"Access Modes:\t{modes}\n")
    if spec.HasField("volume_mode"):
        w.write(0, f"VolumeMode:\t{spec.volume_mode}\n")
    if spec.HasField("data_source"):
        w.write(0, "DataSource:\n")
        if spec.data_source.api_group:
            w.write(1, f"APIGroup:\t{spec.data_source.api_group}\n")
        w.write(1, f"Kind:\t{spec.data_source.kind}\n")
        w.write(1, f"Name:\t{spec.data_source.name}\n")
    if related is not None:
        users = sorted(pod.metadata.name for pod in _related(related, core_pb2.Pod)
                       if any(v.persistent_volume_claim.claim_name == meta.name for v in pod.spec.volumes
                              if v.HasField("persistent_volume_claim")))
        w.write(0, "Used By:\t")
        if not users:
            w.line(NONE)
        for index, name in enumerate(users):
            w.write(0, ("\t" if index else "") + name + "\n")
    if pvc.status.conditions:
        w.write(0, "Conditions:\n")
        w.write(1, "Type\tStatus\tLastProbeTime\tLastTransitionTime\tReason\tMessage\n")
        w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
        for c in pvc.status.conditions:
            w.write(1, f"{c.type} \t{c.status} \t{rfc1123z(c.last_probe_time)} \t"
                       f"{rfc1123z(c.last_transition_time)} \t{c.reason} \t{c.message}\n")


def _backend(backend: networking_pb2.IngressBackend, namespace: str,
             related: Sequence[Message] | None) -> str:
    if backend.HasField("service"):
        service = backend.service
        port = str(service.port.number) if service.port.number else service.port.name
        text = f"{service.name}:{port}"
        if related is None:
            return text
        found = [s for s in _related(related, core_pb2.Service)
                 if s.metadata.name == service.name and s.metadata.namespace == namespace]
        if not found:
            return f'{text} (<error: services "{service.name}" not found>)'
        port_name = ""
        for service_port in found[0].spec.ports:
            if (service.port.number and service.port.number == service_port.port) or (
                    service.port.name and service.port.name == service_port.name):
                port_name = service_port.name
        return f"{text} ({format_endpoints(_endpoints_of(related, namespace, service.name), {port_name})})"
    if backend.HasField("resource"):
        resource = backend.resource
        return f"APIGroup: {resource.api_group or NONE}, Kind: {resource.kind}, Name: {resource.name}"
    return ""


def _ingress(w: _Writer, ingress: networking_pb2.Ingress, related: Sequence[Message] | None,
             now: datetime) -> None:
    meta, spec = ingress.metadata, ingress.spec
    w.write(0, f"Name:\t{meta.name}\n")
    _labels(w, "Labels", meta.labels)
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    addresses = sorted({i.ip or i.hostname for i in ingress.status.load_balancer.ingress} - {""})
    w.write(0, f"Address:\t{','.join(addresses)}\n")
    class_name = spec.ingress_class_name if spec.HasField("ingress_class_name") else NONE
    w.write(0, f"Ingress Class:\t{class_name}\n")
    default = _backend(spec.default_backend, meta.namespace, related) if spec.HasField("default_backend") \
        else "<default>"
    w.write(0, f"Default backend:\t{default}\n")
    if spec.tls:
        w.write(0, "TLS:\n")
        for tls in spec.tls:
            hosts = ",".join(tls.hosts)
            if tls.secret_name:
                w.write(1, f"{tls.secret_name} terminates {hosts}\n")
            else:
                w.write(1, f"SNI routes {hosts}\n")
    w.write(0, "Rules:\n  Host\tPath\tBackends\n")
    w.write(1, "----\t----\t--------\n")
    count = 0
    for rule in spec.rules:
        if not rule.HasField("http"):
            continue
        count += 1
        w.write(1, f"{rule.host or '*'}\t\n")
        for path in rule.http.paths:
            w.write(2, f"\t{path.path} \t{_backend(path.backend, meta.namespace, related)}\n")
    if not count:
        w.write(1, f"*\t*\t{default}\n")
    _annotations(w, "Annotations", meta.annotations)


def _ingress_class(w: _Writer, ingress_class: networking_pb2.IngressClass, related: Sequence[Message] | None,
                   now: datetime) -> None:
    meta = ingress_class.metadata
    w.write(0, f"Name:\t{meta.name}\n")
    _labels(w, "Labels", meta.labels)
    _annotations(w, "Annotations", meta.annotations)
    w.write(0, f"Controller:\t{ingress_class.spec.controller}\n")
    if ingress_class.spec.HasField("parameters"):
        parameters = ingress_class.spec.parameters
        w.write(0, "Parameters:\n")
        if parameters.api_group:
            w.write(1, f"APIGroup:\t{parameters.api_group}\n")
        w.write(1, f"Kind:\t{parameters.kind}\n")
        w.write(1, f"Name:\t{parameters.name}\n")


def _storage_class(w: _Writer, sc: storage_pb2.StorageClass, related: Sequence[Message] | None,
                   now: datetime) -> None:
    w.write(0, f"Name:\t{sc.metadata.name}\n")
    w.write(0, f"IsDefaultClass:\t{'Yes' if is_default_class(sc.metadata) else 'No'}\n")
    w.write(0, f"Annotations:\t{format_labels(sc.metadata.annotations)}\n")
    w.write(0, f"Provisioner:\t{sc.provisioner}\n")
    w.write(0, f"Parameters:\t{format_labels(sc.parameters)}\n")
    expansion = _title_bool(sc.allow_volume_expansion) if sc.HasField("allow_volume_expansion") else UNSET
    w.write(0, f"AllowVolumeExpansion:\t{expansion}\n")
    if not sc.mount_options:
        w.write(0, "MountOptions:\t<none>\n")
    else:
        w.write(0, "MountOptions:\n")
        for option in sc.mount_options:
            w.write(1, f"{option}\n")
    if sc.HasField("reclaim_policy"):
        w.write(0, f"ReclaimPolicy:\t{sc.reclaim_policy}\n")
    if sc.HasField("volume_binding_mode"):
        w.write(0, f"VolumeBindingMode:\t{sc.volume_binding_mode}\n")
    if sc.allowed_topologies:
        w.write(0, "AllowedTopologies:\t")
        w.line("")
        _selector_terms(w, 1, [[(r.key, "in", list(r.values)) for r in term.match_label_expressions]
                               for term in sc.allowed_topologies])


def _selector_terms(w: _Writer, level: int, terms: Sequence[Sequence[tuple[str, str, Sequence[str]]]]) -> None:
    """`Term 0:  key in [a, b]` lines, one per requirement, as kubectl prints node selector terms."""
    for number, requirements in enumerate(terms):
        w.write(level, f"Term {number}:\t")
        if not requirements:
            w.line(NONE)
        for index, (key, operator, values) in enumerate(requirements):
            if index:
                w.write(level, "\t")
            text = f"{key} {operator}"
            if values:
                text += f" [{', '.join(values)}]"
            w.write(0, text + "\n")


def _endpoints(w: _Writer, endpoints: core_pb2.Endpoints, related: Sequence[Message] | None,
               now: datetime) -> None:
    meta = endpoints.metadata
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    _labels(w, "Labels", meta.labels)
    _annotations(w, "Annotations", meta.annotations)
    w.write(0, "Subsets:\n")
    for subset in endpoints.subsets:
        w.write(1, f"Addresses:\t{','.join(a.ip for a in subset.addresses) or NONE}\n")
        w.write(1, f"NotReadyAddresses:\t{','.join(a.ip for a in subset.not_ready_addresses) or NONE}\n")
        if subset.ports:
            w.write(1, "Ports:\n")
            w.write(2, "Name\tPort\tProtocol\n")
            w.write(2, "----\t----\t--------\n")
            for port in subset.ports:
                w.write(2, f"{port.name or UNSET}\t{port.port}\t{port.protocol}\n")
        w.write(0, "\n")


def _endpoint_slice(w: _Writer, eps: discovery_pb2.EndpointSlice, related: Sequence[Message] | None,
                    now: datetime) -> None:
    meta = eps.metadata
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    _labels(w, "Labels", meta.labels)
    _annotations(w, "Annotations", meta.annotations)
    w.write(0, f"AddressType:\t{eps.address_type}\n")
    if not eps.ports:
        w.write(0, "Ports: <unset>\n")
    else:
        w.write(0, "Ports:\n")
        w.write(1, "Name\tPort\tProtocol\n")
        w.write(1, "----\t----\t--------\n")
        for port in eps.ports:
            name = port.name if port.HasField("name") and port.name else UNSET
            number = str(port.port) if port.HasField("port") else UNSET
            w.write(1, f"{name}\t{number}\t{port.protocol}\n")
    if not eps.endpoints:
        w.write(0, "Endpoints: <none>\n")
        return
    w.write(0, "Endpoints:\n")
    for endpoint in eps.endpoints:
        w.write(1, f"- Addresses:\t{', '.join(endpoint.addresses) or NONE}\n")
        w.write(2, "Conditions:\n")
        ready = endpoint.conditions.ready
        w.write(3, f"Ready:\t{_bool(ready) if endpoint.conditions.HasField('ready') else UNSET}\n")
        w.write(2, f"Hostname:\t{endpoint.hostname if endpoint.HasField('hostname') else UNSET}\n")
        if endpoint.HasField("target_ref"):
            w.write(2, f"TargetRef:\t{endpoint.target_ref.kind}/{endpoint.target_ref.name}\n")
        w.write(2, f"NodeName:\t{endpoint.node_name if endpoint.HasField('node_name') else UNSET}\n")
        w.write(2, f"Zone:\t{endpoint.zone if endpoint.HasField('zone') else UNSET}\n")


# --------------------------------------------------------------------------------- generic describer


def _camel_words(field: str) -> list[str]:
    """fatih/camelcase.Split, which kubectl uses: `podCIDRs` -> pod, CID, Rs."""
    runs: list[list[str]] = []
    kinds: list[int] = []
    for char in field:
        kind = 1 if char.islower() else 2 if char.isupper() else 3 if char.isdigit() else 4
        if kinds and kinds[-1] == kind:
            runs[-1].append(char)
        else:
            runs.append([char])
            kinds.append(kind)
    for index in range(len(runs) - 1):
        if kinds[index] == 2 and kinds[index + 1] == 1:
            runs[index + 1].insert(0, runs[index].pop())
    return ["".join(run) for run in runs if run]


def smart_label(field: str) -> str:
    """A JSON field name as kubectl's generic describer titles it: `apiVersion` -> `API Version`."""
    if any(not (char.isalpha() or char == "-") for char in field):
        return field
    parts = _camel_words(field)
    merged: list[str] = []
    index = 0
    while index < len(parts):
        part = parts[index]
        following = parts[index + 1] if index + 1 < len(parts) else ""
        if len(part) >= 2 and part.isupper() and following[:1].isupper():
            merged.append(part + following)
            index += 2
            continue
        merged.append(part)
        index += 1
    words = []
    for part in merged:
        if part.upper() in ("API", "URL", "UID", "GUID"):
            part = part.upper()
        elif part.lower() == part:
            part = part.title()
        words.append(part)
    return " ".join(words)


def _go_value(value: object) -> str:
    if isinstance(value, bool):
        return _bool(value)
    return str(value)


_GENERIC_SKIP = frozenset({".metadata.managedFields", ".metadata.name", ".metadata.namespace",
                           ".metadata.labels", ".metadata.annotations"})


def _content(w: _Writer, level: int, content: Mapping[str, Any], prefix: str) -> None:
    for field in sorted(content):
        value = content[field]
        path = f"{prefix}.{field}"
        if path in _GENERIC_SKIP:
            continue
        if isinstance(value, Mapping):
            w.write(level, f"{smart_label(field)}:\n")
            _content(w, level + 1, value, path)
        elif isinstance(value, list):
            w.write(level, f"{smart_label(field)}:\n")
            for item in value:
                if isinstance(item, Mapping):
                    _content(w, level + 1, item, path)
                else:
                    w.write(level + 1, f"{_go_value(item)}\n")
        else:
            w.write(level, f"{smart_label(field)}:\t{_go_value(value)}\n")


def _generic(w: _Writer, obj: Message, related: Sequence[Message] | None, now: datetime) -> None:
    meta = obj.metadata  # type: ignore[attr-defined]
    w.write(0, f"Name:\t{meta.name}\n")
    w.write(0, f"Namespace:\t{meta.namespace}\n")
    _labels(w, "Labels", meta.labels)
    _annotations(w, "Annotations", meta.annotations)
    _content(w, 0, codec.encode(obj), "")


_Describer = Callable[[_Writer, Any, Sequence[Message] | None, datetime], None]

_DESCRIBERS: dict[str, _Describer] = {
    "Pod": _pod,
    "Service": _service,
    "Deployment": _deployment,
    "ReplicaSet": _replica_set,
    "StatefulSet": _stateful_set,
    "Node": _node,
    "Namespace": _namespace,
    "ConfigMap": _config_map,
    "Secret": _secret,
    "PersistentVolume": _pv,
    "PersistentVolumeClaim": _pvc,
    "Ingress": _ingress,
    "IngressClass": _ingress_class,
    "StorageClass": _storage_class,
    "Endpoints": _endpoints,
    "EndpointSlice": _endpoint_slice,
}


def describe(kind: Kind, obj: Message, events: Sequence[core_pb2.Event], *, now: datetime,
             related: Sequence[Message] | None = None) -> str:
    """`obj` as `kubectl describe` shows it, ending with its events (oldest first).

    `related` are objects kubectl looks up beside the described one: the Service's Endpoints, the
    Deployment's ReplicaSets, the pods of a ReplicaSet, StatefulSet or claim, the Node's Lease. Leave it
    None when they were not fetched; the lines that need them are then left out.
    """
    w = _Writer()
    _DESCRIBERS.get(kind.kind, _generic)(w, obj, related, now)
    _events(w, events, now)
    return w.text()



def pod_template(template: core_pb2.PodTemplateSpec) -> str:
    """A pod template as `kubectl rollout history --revision=N` shows it (describe's Pod Template section)."""
    w = _Writer()
    _pod_template(w, template)
    return w.text()
