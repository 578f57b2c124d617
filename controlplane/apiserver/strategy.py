"""Per-kind rules for what a write may change, as Kubernetes' registry strategies have them.

- Create: status starts empty (a new Pod is Pending, a Namespace Active) except for kinds whose
  creator reports it (Node, Event-like kinds without a status subresource).
- Update of the object: status is kept from the stored object when the kind has a status subresource.
- Update of status: only status changes; spec and metadata are kept from the stored object.
- Server-owned metadata (uid, creationTimestamp, deletion fields, generation) never comes from a client.
"""

from __future__ import annotations

from google.protobuf.message import Message

from controlplane.api.kinds import Kind
from controlplane.api.v1 import core_pb2, meta_pb2
from controlplane.apiserver.defaults import pod_qos_class
from controlplane.apiserver.service_alloc import wants_health_check_port, wants_node_ports

_KEEPS_STATUS_ON_CREATE = {"Node"}


def prepare_for_create(kind: Kind, obj: Message) -> None:
    meta = obj.metadata  # type: ignore[attr-defined]
    for name in ("uid", "resource_version", "creation_timestamp", "deletion_timestamp"):
        meta.ClearField(name)
    meta.ClearField("deletion_grace_period_seconds")
    meta.ClearField("generation")
    if kind.has_status_subresource and kind.kind not in _KEEPS_STATUS_ON_CREATE:
        obj.ClearField("status")
    if isinstance(obj, core_pb2.Secret):
        _merge_string_data(obj)
    elif isinstance(obj, core_pb2.Namespace):
        obj.status.phase = "Active"
    elif isinstance(obj, core_pb2.PersistentVolumeClaim | core_pb2.PersistentVolume):
        obj.status.phase = "Pending"


def prepare_pod_status(pod: core_pb2.Pod) -> None:
    """After defaulting: a new pod is Pending with its QoS class."""
    pod.status.phase = "Pending"
    pod.status.qos_class = pod_qos_class(pod.spec)


def prepare_for_update(kind: Kind, new: Message, old: Message) -> None:
    """An update of the object itself (not its status)."""
    _keep_server_metadata(new, old)
    if kind.has_status_subresource:
        new.status.CopyFrom(old.status)  # type: ignore[attr-defined]
        if not old.HasField("status"):
            new.ClearField("status")
    if isinstance(new, core_pb2.Secret):
        _merge_string_data(new)
    elif isinstance(new, core_pb2.Service) and isinstance(old, core_pb2.Service):
        drop_type_dependent_fields(new.spec, old.spec)


def record_binding(new: Message, old: Message, now: str) -> None:
    """An update that gives a pod its node is kubelab's binding: as Kubernetes' binding subresource
    does, it also sets the pod's PodScheduled condition True (replacing a False one with its reason)."""
    if not (isinstance(new, core_pb2.Pod) and isinstance(old, core_pb2.Pod)):
        return
    if not new.spec.node_name or old.spec.node_name:
        return
    scheduled = meta_pb2.Condition(type="PodScheduled", status="True", last_transition_time=now)
    for condition in new.status.conditions:
        if condition.type == "PodScheduled":
            if condition.status == "True":
                scheduled.last_transition_time = condition.last_transition_time
            condition.CopyFrom(scheduled)
            return
    new.status.conditions.append(scheduled)


def drop_type_dependent_fields(new: core_pb2.ServiceSpec, old: core_pb2.ServiceSpec) -> None:
    """When a Service changes type, forget what only the old type needed, unless the client set it
    anew (Kubernetes' dropTypeDependentFields): `{"spec":{"type":"ClusterIP"}}` on a NodePort
    Service drops its node ports instead of being refused for keeping them."""
    if new.type == old.type:
        return
    if not wants_node_ports(new) and wants_node_ports(old):
        previous = {(p.port, p.protocol): p.node_port for p in old.ports}
        for port in new.ports:
            if port.node_port and previous.get((port.port, port.protocol)) == port.node_port:
                port.node_port = 0
    if not wants_health_check_port(new) and new.health_check_node_port == old.health_check_node_port:
        new.health_check_node_port = 0
    if new.type == "ExternalName" and new.cluster_ip == old.cluster_ip:
        new.cluster_ip = ""
        del new.cluster_ips[:]
    externally_reachable = ("NodePort", "LoadBalancer")
    if (old.type in externally_reachable and new.type not in externally_reachable
            and new.external_traffic_policy == old.external_traffic_policy):
        new.external_traffic_policy = ""
    if new.type != "LoadBalancer" and new.allocate_load_balancer_node_ports == old.allocate_load_balancer_node_ports:
        new.ClearField("allocate_load_balancer_node_ports")


def prepare_for_status_update(new: Message, old: Message) -> Message:
    """An update through the status subresource: the stored object with the new status."""
    result = type(old)()
    result.CopyFrom(old)
    result.status.CopyFrom(new.status)  # type: ignore[attr-defined]
    return result


def _keep_server_metadata(new: Message, old: Message) -> None:
    meta, old_meta = new.metadata, old.metadata  # type: ignore[attr-defined]
    meta.uid = old_meta.uid
    meta.creation_timestamp = old_meta.creation_timestamp
    meta.deletion_timestamp = old_meta.deletion_timestamp
    meta.generation = old_meta.generation
    if old_meta.HasField("deletion_grace_period_seconds"):
        meta.deletion_grace_period_seconds = old_meta.deletion_grace_period_seconds
    else:
        meta.ClearField("deletion_grace_period_seconds")
    if not meta.generate_name:
        meta.generate_name = old_meta.generate_name


def _merge_string_data(secret: core_pb2.Secret) -> None:
    for key, value in secret.string_data.items():
        secret.data[key] = value.encode()
    secret.ClearField("string_data")
