"""ObjectMeta: the name (its format depends on the kind), namespace, labels, annotations,
ownerReferences and finalizers (apimachinery's ValidateObjectMeta and ValidateObjectMetaUpdate)."""

from __future__ import annotations

from collections.abc import Iterable

from controlplane.api import names
from controlplane.api.errors import FieldError
from controlplane.api.kinds import Kind
from controlplane.api.v1 import meta_pb2
from controlplane.apiserver.validation.common import (
    GoLiteral,
    NameCheck,
    check_name,
    child,
    immutable,
    index,
    invalid_each,
    validate_annotations,
    validate_labels,
)

# The names a kind's objects may have, where it is not a DNS subdomain. StatefulSet names become
# pod host names, Namespace names DNS labels, Service names DNS-1035 labels (Kubernetes' rules).
_NAME_CHECKS: dict[str, NameCheck] = {
    "Namespace": names.dns1123_label,
    "Service": names.dns1035_label,
    "StatefulSet": names.dns1123_label,
}

# Finalizer names that need no domain prefix (Kubernetes' standardFinalizers).
STANDARD_FINALIZERS = frozenset({"kubernetes", "orphan", "foregroundDeletion"})


def name_check(kind: Kind) -> NameCheck:
    return _NAME_CHECKS.get(kind.kind, names.dns1123_subdomain)


def _as_prefix(check: NameCheck) -> NameCheck:
    """A check for a generateName: the random suffix follows, so a trailing '-' is fine."""
    def prefix_check(value: str) -> list[str]:
        masked = value[:-1] + "a" if len(value) > 1 and value.endswith("-") else value
        return check(masked)
    return prefix_check


def validate_object_meta(kind: Kind, meta: meta_pb2.ObjectMeta, path: str = "metadata") -> list[FieldError]:
    """The metadata of an object being created (its name already generated, if it had to be)."""
    check = name_check(kind)
    errors: list[FieldError] = []
    if meta.generate_name:
        errors += check_name(_as_prefix(check), meta.generate_name, child(path, "generateName"))
    if not meta.name:
        errors.append(FieldError.required(child(path, "name"), "name or generateName is required"))
    else:
        errors += check_name(check, meta.name, child(path, "name"))
    errors += _common(kind, meta, path)
    return errors


def validate_object_meta_update(kind: Kind, new: meta_pb2.ObjectMeta, old: meta_pb2.ObjectMeta,
                                path: str = "metadata") -> list[FieldError]:
    """The metadata of an object being replaced: what never changes, then the create-time rules
    except the name's format (an object stored under an old rule must stay updatable)."""
    errors: list[FieldError] = []
    if new.generation < old.generation:
        errors.append(FieldError.invalid(child(path, "generation"), new.generation, "must not be decremented"))
    errors += immutable(new.name, old.name, child(path, "name"))
    errors += immutable(new.namespace, old.namespace, child(path, "namespace"))
    errors += immutable(new.uid, old.uid, child(path, "uid"))
    errors += immutable(new.creation_timestamp, old.creation_timestamp, child(path, "creationTimestamp"))
    errors += _common(kind, new, path)
    return errors


def _common(kind: Kind, meta: meta_pb2.ObjectMeta, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    namespace_path = child(path, "namespace")
    if kind.namespaced:
        if not meta.namespace:
            errors.append(FieldError.required(namespace_path))
        else:
            errors += check_name(names.dns1123_label, meta.namespace, namespace_path)
    elif meta.namespace:
        errors.append(FieldError.forbidden(namespace_path, "not allowed on this type"))
    if meta.generation < 0:
        errors.append(FieldError.invalid(child(path, "generation"), meta.generation,
                                         "must be greater than or equal to 0"))
    errors += validate_labels(meta.labels, child(path, "labels"))
    errors += validate_annotations(meta.annotations, child(path, "annotations"))
    errors += validate_owner_references(meta.owner_references, child(path, "ownerReferences"))
    errors += validate_finalizers(meta.finalizers, child(path, "finalizers"))
    return errors


def validate_owner_references(references: Iterable[meta_pb2.OwnerReference], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    controller = ""
    for reference in references:
        version = reference.api_version.rpartition("/")[2]
        if not version:
            errors.append(FieldError.invalid(child(path, "apiVersion"), reference.api_version,
                                             "version must not be empty"))
        if not reference.kind:
            errors.append(FieldError.invalid(child(path, "kind"), reference.kind, "must not be empty"))
        if not reference.name:
            errors.append(FieldError.invalid(child(path, "name"), reference.name, "must not be empty"))
        if not reference.uid:
            errors.append(FieldError.invalid(child(path, "uid"), reference.uid, "must not be empty"))
        if reference.api_version == "v1" and reference.kind == "Event":
            errors.append(FieldError.invalid(path, GoLiteral(f"{reference.kind}/{reference.name}"),
                                             "/v1, Kind=Event is disallowed from being an owner"))
        if reference.HasField("controller") and reference.controller:
            this = f"{reference.kind}/{reference.name}"
            if controller:
                errors.append(FieldError.invalid(
                    path, GoLiteral(this),
                    f'Only one reference can have Controller set to true. Found "true" in references for '
                    f"{controller} and {this}"))
            else:
                controller = this
    return errors


def validate_finalizers(finalizers: Iterable[str], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    values = list(finalizers)
    for i, finalizer in enumerate(values):
        errors += invalid_each(path, finalizer, names.qualified_name(finalizer))
        errors += kube_finalizer_name(finalizer, index(path, i))
    if "orphan" in values and "foregroundDeletion" in values:
        errors.append(FieldError.invalid(path, values, "finalizer orphan and foregroundDeletion cannot be both set"))
    return errors


def kube_finalizer_name(finalizer: str, path: str) -> list[FieldError]:
    if "/" not in finalizer and finalizer not in STANDARD_FINALIZERS:
        return [FieldError.invalid(path, finalizer,
                                   "name is neither a standard finalizer name nor is it fully qualified")]
    return []
