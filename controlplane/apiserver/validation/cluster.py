"""Namespaces, Nodes, Events and Leases."""

from __future__ import annotations

from collections.abc import Iterable

from controlplane.api import names
from controlplane.api.errors import FieldError
from controlplane.api.v1 import coordination_pb2, core_pb2
from controlplane.apiserver.validation.common import (
    GoLiteral,
    check_name,
    child,
    index,
    invalid_each,
    nonnegative_quantity,
    one_of,
    valid_cidr,
)
from controlplane.apiserver.validation.meta import kube_finalizer_name
from controlplane.apiserver.validation.pod import TAINT_EFFECTS

# ---------------------------------------------------------------------------------------- Namespace


def validate_namespace(namespace: core_pb2.Namespace) -> list[FieldError]:
    errors: list[FieldError] = []
    path = "spec.finalizers"
    for finalizer in namespace.spec.finalizers:
        errors += invalid_each(path, finalizer, names.qualified_name(finalizer))
        errors += kube_finalizer_name(finalizer, path)
    return errors


def validate_namespace_update(new: core_pb2.Namespace, old: core_pb2.Namespace) -> list[FieldError]:
    return validate_namespace(new)


# ---------------------------------------------------------------------------------------- Node


def validate_node(node: core_pb2.Node) -> list[FieldError]:
    errors = _taints(node.spec.taints, "spec.taints")
    for section, resources in (("capacity", node.status.capacity), ("allocatable", node.status.allocatable)):
        for name, amount in sorted(resources.items()):
            errors += nonnegative_quantity(amount.string, f"status.{section}.{name}")
    cidrs_path = "spec.podCIDRs"
    for i, cidr in enumerate(node.spec.pod_cidrs):
        errors += valid_cidr(cidr, index(cidrs_path, i))
    if len(node.spec.pod_cidrs) > 1:
        families = {cidr.count(":") > 0 for cidr in node.spec.pod_cidrs}
        if len(node.spec.pod_cidrs) > 2 or len(families) != 2:
            errors.append(FieldError.invalid(cidrs_path, list(node.spec.pod_cidrs),
                                             "may specify no more than one CIDR for each IP family"))
    if node.spec.pod_cidr:
        errors += valid_cidr(node.spec.pod_cidr, "spec.podCIDR")
    return errors


def _taints(taints: Iterable[core_pb2.Taint], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, taint in enumerate(taints):
        at = index(path, i)
        errors += check_name(names.qualified_name, taint.key, child(at, "key"))
        problems = names.label_value(taint.value)
        if problems:
            errors.append(FieldError.invalid(child(at, "value"), taint.value, ";".join(problems)))
        errors += one_of(taint.effect, TAINT_EFFECTS, child(at, "effect"))
        if (taint.key, taint.effect) in seen:
            errors.append(FieldError("Duplicate value", at, GoLiteral(
                f'core.Taint{{Key:"{taint.key}", Value:"{taint.value}", Effect:"{taint.effect}"}}'),
                "taints must be unique by key and effect pair"))
            continue
        seen.add((taint.key, taint.effect))
    return errors


def validate_node_update(new: core_pb2.Node, old: core_pb2.Node) -> list[FieldError]:
    """A node's pod CIDRs and provider ID are set once (by the node controller) and then kept."""
    errors = validate_node(new)
    if old.spec.pod_cidrs and list(new.spec.pod_cidrs) != list(old.spec.pod_cidrs):
        errors.append(FieldError.forbidden("spec.podCIDRs", "node updates may not change podCIDR except from \"\" to "
                                                            "valid"))
    elif old.spec.pod_cidr and new.spec.pod_cidr != old.spec.pod_cidr:
        errors.append(FieldError.forbidden("spec.podCIDR", "node updates may not change podCIDR except from \"\" to "
                                                           "valid"))
    if old.spec.provider_id and new.spec.provider_id != old.spec.provider_id:
        errors.append(FieldError.forbidden("spec.providerID", "node updates may not change providerID except from "
                                                              "\"\" to valid"))
    return errors


# ---------------------------------------------------------------------------------------- Event


EVENT_TYPES = ("Normal", "Warning")


def validate_event(event: core_pb2.Event) -> list[FieldError]:
    """Kubernetes' legacy (core/v1) event checks, and the object an event is about must be named."""
    errors: list[FieldError] = []
    involved = event.involved_object
    namespace = event.metadata.namespace
    namespace_path = "involvedObject.namespace"
    if not involved.namespace:
        if namespace not in ("", "default"):
            errors.append(FieldError.invalid(namespace_path, involved.namespace, "does not match event.namespace"))
    elif namespace != involved.namespace:
        errors.append(FieldError.invalid(namespace_path, involved.namespace, "does not match event.namespace"))
    if not involved.name:
        errors.append(FieldError.required("involvedObject.name"))
    if event.type:
        errors += one_of(event.type, EVENT_TYPES, "type")
    return errors


def validate_event_update(new: core_pb2.Event, old: core_pb2.Event) -> list[FieldError]:
    return validate_event(new)


# ---------------------------------------------------------------------------------------- Lease


def validate_lease(lease: coordination_pb2.Lease) -> list[FieldError]:
    spec = lease.spec
    errors: list[FieldError] = []
    if spec.HasField("lease_duration_seconds") and spec.lease_duration_seconds <= 0:
        errors.append(FieldError.invalid("spec.leaseDurationSeconds", spec.lease_duration_seconds,
                                         "must be greater than 0"))
    if spec.HasField("lease_transitions") and spec.lease_transitions < 0:
        errors.append(FieldError.invalid("spec.leaseTransitions", spec.lease_transitions,
                                         "must be greater than or equal to 0"))
    return errors


def validate_lease_update(new: coordination_pb2.Lease, old: coordination_pb2.Lease) -> list[FieldError]:
    return validate_lease(new)
