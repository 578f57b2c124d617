"""The registry of API kinds: names, scope, and the protobuf message behind each.

Everything that needs to go from a word ("po", "deployments.apps", "Deployment") to a kind, or from a
kind to its message class and store prefix, asks this module.
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

from controlplane.api.v1 import (
    api_pb2,
    apps_pb2,
    coordination_pb2,
    core_pb2,
    discovery_pb2,
    networking_pb2,
    storage_pb2,
)


@dataclass(frozen=True, slots=True)
class Kind:
    kind: str
    api_version: str
    plural: str
    short_names: tuple[str, ...]
    namespaced: bool
    message: type[Message]
    # The member of api_pb2.Object's `kind` oneof that carries this kind.
    oneof_field: str
    # Whether writes to `status` go through the status subresource only (UpdateStatus).
    has_status_subresource: bool
    # Field paths a field selector may name, beyond metadata.name and metadata.namespace.
    selectable_fields: tuple[str, ...] = ()

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def group(self) -> str:
        return self.api_version.rpartition("/")[0]

    @property
    def qualified_kind(self) -> str:
        """`Deployment.apps`, `Pod`: how Kubernetes names a kind in error messages."""
        return f"{self.kind}.{self.group}" if self.group else self.kind

    @property
    def qualified_plural(self) -> str:
        """`deployments.apps`, `pods`: how Kubernetes names a resource in not-found messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def has_spec(self) -> bool:
        return "spec" in self.message.DESCRIPTOR.fields_by_name

    def new(self) -> Message:
        message = self.message()
        message.api_version = self.api_version  # type: ignore[attr-defined]
        message.kind = self.kind  # type: ignore[attr-defined]
        return message


KINDS: tuple[Kind, ...] = (
    Kind("Namespace", "v1", "namespaces", ("ns",), False, core_pb2.Namespace, "namespace", True,
         ("status.phase",)),
    Kind("Node", "v1", "nodes", ("no",), False, core_pb2.Node, "node", True, ("spec.unschedulable",)),
    Kind("Pod", "v1", "pods", ("po",), True, core_pb2.Pod, "pod", True,
         ("spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
          "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName")),
    Kind("Service", "v1", "services", ("svc",), True, core_pb2.Service, "service", True, ("spec.type",
         "spec.clusterIP")),
    Kind("Endpoints", "v1", "endpoints", ("ep",), True, core_pb2.Endpoints, "endpoints", False),
    Kind("EndpointSlice", "discovery.k8s.io/v1", "endpointslices", (), True, discovery_pb2.EndpointSlice,
         "endpoint_slice", False, ("addressType",)),
    Kind("ConfigMap", "v1", "configmaps", ("cm",), True, core_pb2.ConfigMap, "config_map", False),
    Kind("Secret", "v1", "secrets", (), True, core_pb2.Secret, "secret", False, ("type",)),
    Kind("Event", "v1", "events", ("ev",), True, core_pb2.Event, "event", False,
         ("involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
          "involvedObject.apiVersion", "involvedObject.resourceVersion", "involvedObject.fieldPath",
          "reason", "reportingComponent", "type")),
    Kind("Deployment", "apps/v1", "deployments", ("deploy",), True, apps_pb2.Deployment, "deployment", True),
    Kind("ReplicaSet", "apps/v1", "replicasets", ("rs",), True, apps_pb2.ReplicaSet, "replica_set", True,
         ("status.replicas",)),
    Kind("StatefulSet", "apps/v1", "statefulsets", ("sts",), True, apps_pb2.StatefulSet, "stateful_set", True),
    Kind("PersistentVolume", "v1", "persistentvolumes", ("pv",), False, core_pb2.PersistentVolume,
         "persistent_volume", True),
    Kind("PersistentVolumeClaim", "v1", "persistentvolumeclaims", ("pvc",), True,
         core_pb2.PersistentVolumeClaim, "persistent_volume_claim", True),
    Kind("StorageClass", "storage.k8s.io/v1", "storageclasses", ("sc",), False, storage_pb2.StorageClass,
         "storage_class", False),
    Kind("Ingress", "networking.k8s.io/v1", "ingresses", ("ing",), True, networking_pb2.Ingress, "ingress",
         True),
    Kind("IngressClass", "networking.k8s.io/v1", "ingressclasses", (), False, networking_pb2.IngressClass,
         "ingress_class", False),
    Kind("Lease", "coordination.k8s.io/v1", "leases", (), True, coordination_pb2.Lease, "lease", False),
)

_BY_KIND = {k.kind: k for k in KINDS}
_BY_ONEOF = {k.oneof_field: k for k in KINDS}
_BY_FULL_NAME = {k.message.DESCRIPTOR.full_name: k for k in KINDS}


def _aliases() -> dict[str, Kind]:
    table: dict[str, Kind] = {}
    for k in KINDS:
        for word in (k.kind.lower(), k.plural, k.singular, k.qualified_plural, *k.short_names):
            table[word] = k
        if k.group:
            table[f"{k.singular}.{k.group}"] = table[f"{k.kind.lower()}.{k.group}"] = k
    return table


_BY_ALIAS = _aliases()


class UnknownKind(LookupError):
    pass


def by_kind(kind: str) -> Kind:
    """The kind named exactly as in a manifest's `kind:` ("Deployment")."""
    try:
        return _BY_KIND[kind]
    except KeyError:
        raise UnknownKind(f'no kind "{kind}" is registered') from None


def resolve(word: str) -> Kind:
    """A resource as a user types it on the command line: `po`, `pods`, `Pod`, `deployments.apps`."""
    found = _BY_ALIAS.get(word.lower())
    if found is None:
        raise UnknownKind(f'the server doesn\'t have a resource type "{word}"')
    return found


def of_message(message: Message) -> Kind:
    return _BY_FULL_NAME[message.DESCRIPTOR.full_name]


def wrap(message: Message) -> api_pb2.Object:
    """Put a kind's message into the API's `Object` envelope."""
    envelope = api_pb2.Object()
    getattr(envelope, of_message(message).oneof_field).CopyFrom(message)
    return envelope


def unwrap(envelope: api_pb2.Object) -> tuple[Kind, Message]:
    """The kind and message inside an `Object` envelope (ValueError when it is empty)."""
    field = envelope.WhichOneof("kind")
    if field is None:
        raise ValueError("object: Required value: no kind is set")
    return _BY_ONEOF[field], getattr(envelope, field)
