"""Kubernetes' defaulting (the SetDefaults_* functions of core/v1, apps/v1, ...), applied in place.

The API server calls `apply_defaults` on every create and update, before validation, so what is
stored and shown (`klctl get -o yaml`) carries the same defaults Kubernetes would add. Each rule
only fills what is unset, so defaulting twice changes nothing more.

Rules Kubernetes applies to Pods only, not to the pod templates of workloads, stay so here:
requests copied from limits and the other SetDefaults_Pod rules. A template therefore shows what
`kubectl get deployment -o yaml` shows, and the Pods made from it get the rest when created. (The
not-ready/unreachable tolerations are admission, not defaulting: see apiserver/tolerations.py.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from google.protobuf.message import Message

from controlplane.api.kinds import Kind
from controlplane.api.quantity import QuantityError, parse_quantity
from controlplane.api.v1 import (
    apps_pb2,
    core_pb2,
    discovery_pb2,
    meta_pb2,
    networking_pb2,
    storage_pb2,
)

DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS = 30
DEFAULT_SCHEDULER_NAME = "default-scheduler"
DEFAULT_CLIENT_IP_AFFINITY_SECONDS = 10800  # 3 hours, Kubernetes' DefaultClientIPServiceAffinitySeconds
DEFAULT_VOLUME_MODE = 420  # 0644, for configMap/secret/downwardAPI/projected volumes
DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600
LABEL_METADATA_NAME = "kubernetes.io/metadata.name"
FINALIZER_KUBERNETES = "kubernetes"

# The resources that decide a pod's QoS class (Kubernetes' supportedQoSComputeResources).
_QOS_RESOURCES = ("cpu", "memory")


def apply_defaults(kind: Kind, obj: Message) -> None:
    """Fill in, in place, every field Kubernetes defaults for an object of `kind`."""
    defaulter = _DEFAULTERS.get(kind.kind)
    if defaulter is not None:
        defaulter(obj)


# ---------------------------------------------------------------------------------------- QoS


def pod_qos_class(spec: core_pb2.PodSpec) -> str:
    """BestEffort, Burstable or Guaranteed, as Kubernetes' GetPodQOS computes it from cpu/memory."""
    requests: dict[str, Decimal] = {}
    limits: dict[str, Decimal] = {}
    guaranteed = True
    for container in (*spec.containers, *spec.init_containers):
        for name, amount in _qos_amounts(container.resources.requests):
            requests[name] = requests.get(name, Decimal(0)) + amount
        found_limits = set()
        for name, amount in _qos_amounts(container.resources.limits):
            found_limits.add(name)
            limits[name] = limits.get(name, Decimal(0)) + amount
        if not found_limits.issuperset(_QOS_RESOURCES):
            guaranteed = False
    if not requests and not limits:
        return "BestEffort"
    if guaranteed and all(limits.get(name) == amount for name, amount in requests.items()) \
            and len(requests) == len(limits):
        return "Guaranteed"
    return "Burstable"


def _qos_amounts(resources: Any) -> Iterable[tuple[str, Decimal]]:
    """(name, amount) of the positive cpu/memory quantities of a resource list (bad ones skipped)."""
    for name, quantity in resources.items():
        if name not in _QOS_RESOURCES:
            continue
        try:
            amount = parse_quantity(quantity.string)
        except QuantityError:
            continue
        if amount > 0:
            yield name, amount


# ---------------------------------------------------------------------------------------- Pod


def _pod(pod: core_pb2.Pod) -> None:
    _pod_only(pod.spec)
    pod_spec_defaults(pod.spec)


def _pod_only(spec: core_pb2.PodSpec) -> None:
    """SetDefaults_Pod: what a Pod gets and a pod template does not."""
    for container in (*spec.containers, *spec.init_containers):
        resources = container.resources
        for name, limit in resources.limits.items():
            if name not in resources.requests:
                resources.requests[name].CopyFrom(limit)
    if not spec.HasField("enable_service_links"):
        spec.enable_service_links = True
    if spec.host_network:
        for container in (*spec.containers, *spec.init_containers):
            for port in container.ports:
                if port.host_port == 0:
                    port.host_port = port.container_port


def pod_spec_defaults(spec: core_pb2.PodSpec) -> None:
    """SetDefaults_PodSpec and the defaults of everything inside a pod spec (Pods and templates)."""
    if not spec.dns_policy:
        spec.dns_policy = "ClusterFirst"
    if not spec.restart_policy:
        spec.restart_policy = "Always"
    if not spec.HasField("security_context"):
        spec.security_context.SetInParent()
    if not spec.HasField("termination_grace_period_seconds"):
        spec.termination_grace_period_seconds = DEFAULT_TERMINATION_GRACE_PERIOD_SECONDS
    if not spec.scheduler_name:
        spec.scheduler_name = DEFAULT_SCHEDULER_NAME
    for volume in spec.volumes:
        _volume(volume)
    for container in (*spec.init_containers, *spec.containers):
        _container(container)


def _container(container: core_pb2.Container) -> None:
    if not container.image_pull_policy:
        container.image_pull_policy = "Always" if image_tag(container.image) == "latest" else "IfNotPresent"
    if not container.termination_message_path:
        container.termination_message_path = "/dev/termination-log"
    if not container.termination_message_policy:
        container.termination_message_policy = "File"
    for port in container.ports:
        if not port.protocol:
            port.protocol = "TCP"
    for env in container.env:
        if env.HasField("value_from") and env.value_from.HasField("field_ref"):
            _field_selector(env.value_from.field_ref)
    for probe_field in ("liveness_probe", "readiness_probe", "startup_probe"):
        if container.HasField(probe_field):
            _probe(getattr(container, probe_field))
    if container.HasField("lifecycle"):
        for hook in ("post_start", "pre_stop"):
            if container.lifecycle.HasField(hook):
                handler = getattr(container.lifecycle, hook)
                if handler.HasField("http_get"):
                    _http_get(handler.http_get)


def image_tag(image: str) -> str:
    """The tag of an image reference as Kubernetes reads it: "latest" when there is neither a tag
    nor a digest, "" for a digest without a tag (`nginx@sha256:...` counts as pinned)."""
    name, _, digest = image.partition("@")
    last = name.rpartition("/")[2]
    if ":" in last:
        return last.partition(":")[2]
    return "" if digest else "latest"


def _probe(probe: core_pb2.Probe) -> None:
    if probe.timeout_seconds == 0:
        probe.timeout_seconds = 1
    if probe.period_seconds == 0:
        probe.period_seconds = 10
    if probe.success_threshold == 0:
        probe.success_threshold = 1
    if probe.failure_threshold == 0:
        probe.failure_threshold = 3
    if probe.HasField("http_get"):
        _http_get(probe.http_get)
    if probe.HasField("grpc") and not probe.grpc.HasField("service"):
        probe.grpc.service = ""


def _http_get(action: core_pb2.HTTPGetAction) -> None:
    if not action.path:
        action.path = "/"
    if not action.scheme:
        action.scheme = "HTTP"


def _field_selector(selector: core_pb2.ObjectFieldSelector) -> None:
    if not selector.api_version:
        selector.api_version = "v1"


_VOLUME_SOURCES = ("empty_dir", "host_path", "config_map", "secret", "persistent_volume_claim", "downward_api",
                   "projected", "nfs")


def _volume(volume: core_pb2.Volume) -> None:
    if not any(volume.HasField(source) for source in _VOLUME_SOURCES):
        volume.empty_dir.SetInParent()  # SetDefaults_Volume: a volume with no source is an emptyDir
    if volume.HasField("config_map") and not volume.config_map.HasField("default_mode"):
        volume.config_map.default_mode = DEFAULT_VOLUME_MODE
    if volume.HasField("secret") and not volume.secret.HasField("default_mode"):
        volume.secret.default_mode = DEFAULT_VOLUME_MODE
    if volume.HasField("downward_api"):
        if not volume.downward_api.HasField("default_mode"):
            volume.downward_api.default_mode = DEFAULT_VOLUME_MODE
        _downward_items(volume.downward_api.items)
    if volume.HasField("projected"):
        projected = volume.projected
        if not projected.HasField("default_mode"):
            projected.default_mode = DEFAULT_VOLUME_MODE
        for source in projected.sources:
            if source.HasField("downward_api"):
                _downward_items(source.downward_api.items)
            if source.HasField("service_account_token") and \
                    not source.service_account_token.HasField("expiration_seconds"):
                source.service_account_token.expiration_seconds = DEFAULT_TOKEN_EXPIRATION_SECONDS


def _downward_items(items: Iterable[core_pb2.DownwardAPIVolumeFile]) -> None:
    for item in items:
        if item.HasField("field_ref"):
            _field_selector(item.field_ref)


# ---------------------------------------------------------------------------------------- Service


def _service(service: core_pb2.Service) -> None:
    spec = service.spec
    if not spec.session_affinity:
        spec.session_affinity = "None"
    if spec.session_affinity == "None":
        spec.ClearField("session_affinity_config")
    elif spec.session_affinity == "ClientIP" and not spec.session_affinity_config.client_ip.HasField(
            "timeout_seconds"):
        spec.session_affinity_config.client_ip.timeout_seconds = DEFAULT_CLIENT_IP_AFFINITY_SECONDS
    if not spec.type:
        spec.type = "ClusterIP"
    for port in spec.ports:
        if not port.protocol:
            port.protocol = "TCP"
        if _int_or_string_unset(port, "target_port"):
            port.target_port.int_val = port.port
    if externally_accessible(spec) and not spec.external_traffic_policy:
        spec.external_traffic_policy = "Cluster"
    if spec.type in ("ClusterIP", "NodePort", "LoadBalancer") and not spec.internal_traffic_policy:
        spec.internal_traffic_policy = "Cluster"
    if spec.type == "LoadBalancer" and not spec.HasField("allocate_load_balancer_node_ports"):
        spec.allocate_load_balancer_node_ports = True
    if spec.type != "ExternalName":
        if not spec.ip_families:
            spec.ip_families.append("IPv4")
        if not spec.ip_family_policy:
            spec.ip_family_policy = "SingleStack"


def externally_accessible(spec: core_pb2.ServiceSpec) -> bool:
    """Kubernetes' ExternallyAccessible: reachable from outside through node ports or external IPs."""
    return spec.type in ("LoadBalancer", "NodePort") or (spec.type == "ClusterIP" and bool(spec.external_ips))


def _int_or_string_unset(message: Message, field: str) -> bool:
    """An IntOrString that is absent, 0 or "" (Kubernetes treats all three as unset)."""
    if not message.HasField(field):
        return True
    value: meta_pb2.IntOrString = getattr(message, field)
    which = value.WhichOneof("value")
    return which is None or (which == "int_val" and value.int_val == 0) or (
        which == "str_val" and not value.str_val)


def _endpoints(endpoints: core_pb2.Endpoints) -> None:
    for subset in endpoints.subsets:
        for port in subset.ports:
            if not port.protocol:
                port.protocol = "TCP"


def _endpoint_slice(endpoint_slice: discovery_pb2.EndpointSlice) -> None:
    for port in endpoint_slice.ports:
        if not port.HasField("name"):
            port.name = ""
        if not port.HasField("protocol"):
            port.protocol = "TCP"


# ---------------------------------------------------------------------------------------- workloads


def _deployment(deployment: apps_pb2.Deployment) -> None:
    spec = deployment.spec
    if not spec.HasField("replicas"):
        spec.replicas = 1
    strategy = spec.strategy
    if not strategy.type:
        strategy.type = "RollingUpdate"
    if strategy.type == "RollingUpdate":
        rolling = strategy.rolling_update
        rolling.SetInParent()
        if _int_or_string_absent(rolling, "max_unavailable"):
            rolling.max_unavailable.str_val = "25%"
        if _int_or_string_absent(rolling, "max_surge"):
            rolling.max_surge.str_val = "25%"
    if not spec.HasField("revision_history_limit"):
        spec.revision_history_limit = 10
    if not spec.HasField("progress_deadline_seconds"):
        spec.progress_deadline_seconds = 600
    pod_spec_defaults(spec.template.spec)


def _int_or_string_absent(message: Message, field: str) -> bool:
    """An IntOrString left out (a pointer Kubernetes would see as nil); 0 and "0%" are set values."""
    return not message.HasField(field) or getattr(message, field).WhichOneof("value") is None


def _replica_set(replica_set: apps_pb2.ReplicaSet) -> None:
    if not replica_set.spec.HasField("replicas"):
        replica_set.spec.replicas = 1
    pod_spec_defaults(replica_set.spec.template.spec)


def _stateful_set(stateful_set: apps_pb2.StatefulSet) -> None:
    spec = stateful_set.spec
    if not spec.pod_management_policy:
        spec.pod_management_policy = "OrderedReady"
    strategy = spec.update_strategy
    if not strategy.type:
        strategy.type = "RollingUpdate"
        strategy.rolling_update.SetInParent()
    if strategy.type == "RollingUpdate" and strategy.HasField("rolling_update") and \
            not strategy.rolling_update.HasField("partition"):
        strategy.rolling_update.partition = 0
    if not spec.HasField("replicas"):
        spec.replicas = 1
    if not spec.HasField("revision_history_limit"):
        spec.revision_history_limit = 10
    retention = spec.persistent_volume_claim_retention_policy
    if not retention.when_deleted:
        retention.when_deleted = "Retain"
    if not retention.when_scaled:
        retention.when_scaled = "Retain"
    for claim in spec.volume_claim_templates:
        _claim_spec(claim.spec)
        if not claim.status.phase:
            claim.status.phase = "Pending"  # SetDefaults_PersistentVolumeClaim, as `kubectl get sts` shows
    pod_spec_defaults(spec.template.spec)


# ---------------------------------------------------------------------------------------- the rest


def _namespace(namespace: core_pb2.Namespace) -> None:
    meta = namespace.metadata
    if meta.name:
        meta.labels[LABEL_METADATA_NAME] = meta.name
    # A namespace being deleted loses its "kubernetes" finalizer to the namespace controller:
    # only a live namespace gets it back.
    if not namespace.spec.finalizers and not meta.deletion_timestamp:
        namespace.spec.finalizers.append(FINALIZER_KUBERNETES)


def _node(node: core_pb2.Node) -> None:
    status = node.status
    if not status.allocatable and status.capacity:
        for name, quantity in status.capacity.items():
            status.allocatable[name].CopyFrom(quantity)


def _secret(secret: core_pb2.Secret) -> None:
    if not secret.type:
        secret.type = "Opaque"


def _claim_spec(spec: core_pb2.PersistentVolumeClaimSpec) -> None:
    if not spec.HasField("volume_mode"):
        spec.volume_mode = "Filesystem"


def _persistent_volume_claim(claim: core_pb2.PersistentVolumeClaim) -> None:
    _claim_spec(claim.spec)


def _persistent_volume(volume: core_pb2.PersistentVolume) -> None:
    if not volume.spec.persistent_volume_reclaim_policy:
        volume.spec.persistent_volume_reclaim_policy = "Retain"
    if not volume.spec.volume_mode:
        volume.spec.volume_mode = "Filesystem"


def _storage_class(storage_class: storage_pb2.StorageClass) -> None:
    if not storage_class.HasField("reclaim_policy"):
        storage_class.reclaim_policy = "Delete"
    if not storage_class.HasField("volume_binding_mode"):
        storage_class.volume_binding_mode = "Immediate"


def _ingress_class(ingress_class: networking_pb2.IngressClass) -> None:
    parameters = ingress_class.spec.parameters
    if ingress_class.spec.HasField("parameters") and not parameters.scope:
        parameters.scope = "Cluster"


_DEFAULTERS: dict[str, Callable[[Any], None]] = {
    "Pod": _pod,
    "Service": _service,
    "Endpoints": _endpoints,
    "EndpointSlice": _endpoint_slice,
    "Deployment": _deployment,
    "ReplicaSet": _replica_set,
    "StatefulSet": _stateful_set,
    "Namespace": _namespace,
    "Node": _node,
    "Secret": _secret,
    "PersistentVolumeClaim": _persistent_volume_claim,
    "PersistentVolume": _persistent_volume,
    "StorageClass": _storage_class,
    "IngressClass": _ingress_class,
}
