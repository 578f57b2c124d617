"""Kubernetes' validation of API objects, run after defaulting on every create and update.

`validate_create` and `validate_update` return every problem found (an empty list when the object
is fine), in the order Kubernetes reports them: metadata first, then the spec field by field. The
API server turns them into one 422 line (`Deployment.apps "web" is invalid: [...]`).

An update is checked with the create rules (except the name's format), then with what may not
change (a selector, a Service's cluster IP, most of a Pod or a StatefulSet...).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message

from controlplane.api.errors import FieldError
from controlplane.api.kinds import Kind
from controlplane.apiserver.validation import (
    cluster,
    config,
    meta,
    networking,
    pod,
    service,
    storage,
    workloads,
)

__all__ = ["validate_create", "validate_update"]

_Create = Callable[[Any], list[FieldError]]
_Update = Callable[[Any, Any], list[FieldError]]

# kind -> (create rules, update rules); update rules include the create rules.
_RULES: dict[str, tuple[_Create, _Update]] = {
    "Namespace": (cluster.validate_namespace, cluster.validate_namespace_update),
    "Node": (cluster.validate_node, cluster.validate_node_update),
    "Event": (cluster.validate_event, cluster.validate_event_update),
    "Lease": (cluster.validate_lease, cluster.validate_lease_update),
    "Pod": (pod.validate_pod, pod.validate_pod_update),
    "Service": (service.validate_service, service.validate_service_update),
    "Deployment": (workloads.validate_deployment, workloads.validate_deployment_update),
    "ReplicaSet": (workloads.validate_replica_set, workloads.validate_replica_set_update),
    "StatefulSet": (workloads.validate_stateful_set, workloads.validate_stateful_set_update),
    "ConfigMap": (config.validate_config_map, config.validate_config_map_update),
    "Secret": (config.validate_secret, config.validate_secret_update),
    "PersistentVolume": (storage.validate_volume, storage.validate_volume_update),
    "PersistentVolumeClaim": (storage.validate_claim, storage.validate_claim_update),
    "StorageClass": (storage.validate_storage_class, storage.validate_storage_class_update),
    "Ingress": (networking.validate_ingress, networking.validate_ingress_update),
    "IngressClass": (networking.validate_ingress_class, networking.validate_ingress_class_update),
    "Endpoints": (networking.validate_endpoints, networking.validate_endpoints_update),
    "EndpointSlice": (networking.validate_endpoint_slice, networking.validate_endpoint_slice_update),
}


def validate_create(kind: Kind, obj: Message) -> list[FieldError]:
    """Every problem with an object about to be created (its name generated, its defaults applied)."""
    errors = meta.validate_object_meta(kind, obj.metadata)  # type: ignore[attr-defined]
    rules = _RULES.get(kind.kind)
    if rules is not None:
        errors += rules[0](obj)
    return errors


def validate_update(kind: Kind, new: Message, old: Message) -> list[FieldError]:
    """Every problem with replacing `old` by `new` (both defaulted)."""
    errors = meta.validate_object_meta_update(kind, new.metadata, old.metadata)  # type: ignore[attr-defined]
    rules = _RULES.get(kind.kind)
    if rules is not None:
        errors += rules[1](new, old)
    return errors
