"""PersistentVolumes, PersistentVolumeClaims (also as a StatefulSet's volumeClaimTemplates) and
StorageClasses."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from controlplane.api import names
from controlplane.api.errors import FieldError
from controlplane.api.v1 import core_pb2, storage_pb2
from controlplane.apiserver.validation.common import (
    GoLiteral,
    check_name,
    child,
    immutable,
    index,
    key,
    one_of,
    positive_quantity,
    quantity,
    validate_label_selector,
)
from controlplane.apiserver.validation.pod import host_path_source, nfs_source, validate_node_selector_term

ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")
RECLAIM_POLICIES = ("Delete", "Recycle", "Retain")
STORAGE_CLASS_RECLAIM_POLICIES = ("Delete", "Retain")
VOLUME_BINDING_MODES = ("Immediate", "WaitForFirstConsumer")
VOLUME_MODES = ("Block", "Filesystem")
MAX_PROVISIONER_PARAMETERS = 512
MAX_PROVISIONER_PARAMETERS_SIZE = 256 * (1 << 10)

_PV_SOURCES = (("host_path", "hostPath"), ("nfs", "nfs"), ("local", "local"))


def _access_modes(modes: Iterable[str], path: str, required_detail: str) -> list[FieldError]:
    listed = list(modes)
    errors = [] if listed else [FieldError.required(path, required_detail)]
    for mode in listed:
        if mode not in ACCESS_MODES:
            errors.append(FieldError.unsupported(path, mode, ACCESS_MODES))
    if "ReadWriteOncePod" in listed and any(m in ACCESS_MODES and m != "ReadWriteOncePod" for m in listed):
        errors.append(FieldError.forbidden(path, "may not use ReadWriteOncePod with other access modes"))
    return errors


# ---------------------------------------------------------------------------------------- claims


def validate_claim_spec(spec: core_pb2.PersistentVolumeClaimSpec, path: str) -> list[FieldError]:
    """Kubernetes' ValidatePersistentVolumeClaimSpec (a claim, or a StatefulSet's claim template)."""
    errors = _access_modes(spec.access_modes, child(path, "accessModes"), "at least 1 access mode is required")
    if spec.HasField("selector"):
        errors += validate_label_selector(spec.selector, child(path, "selector"))
    storage_path = key(child(path, "resources"), "storage")
    if "storage" not in spec.resources.requests:
        errors.append(FieldError.required(storage_path))
    else:
        errors += positive_quantity(spec.resources.requests["storage"].string, storage_path)
    if spec.HasField("storage_class_name") and spec.storage_class_name:
        errors += check_name(names.dns1123_subdomain, spec.storage_class_name, child(path, "storageClassName"))
    if spec.HasField("volume_mode") and spec.volume_mode not in VOLUME_MODES:
        errors.append(FieldError.unsupported(child(path, "volumeMode"), spec.volume_mode, VOLUME_MODES))
    if spec.HasField("data_source"):
        source_path = child(path, "dataSource")
        if not spec.data_source.name:
            errors.append(FieldError.required(child(source_path, "name")))
        if not spec.data_source.kind:
            errors.append(FieldError.required(child(source_path, "kind")))
    return errors


def validate_claim(claim: core_pb2.PersistentVolumeClaim) -> list[FieldError]:
    return validate_claim_spec(claim.spec, "spec")


def validate_claim_update(new: core_pb2.PersistentVolumeClaim, old: core_pb2.PersistentVolumeClaim) -> list[FieldError]:
    """A claim's spec is fixed once created, except: volumeName may be set once (binding), a
    storageClassName may be set where there was none, and a bound claim may ask for more storage."""
    errors = validate_claim(new)
    frozen_new, frozen_old = core_pb2.PersistentVolumeClaimSpec(), core_pb2.PersistentVolumeClaimSpec()
    frozen_new.CopyFrom(new.spec)
    frozen_old.CopyFrom(old.spec)
    if not old.spec.volume_name:
        frozen_old.volume_name = frozen_new.volume_name
    if not old.spec.HasField("storage_class_name") and new.spec.HasField("storage_class_name"):
        frozen_old.storage_class_name = frozen_new.storage_class_name
    if new.status.phase == "Bound" and "storage" in old.spec.resources.requests:
        frozen_new.resources.requests["storage"].CopyFrom(old.spec.resources.requests["storage"])
    if frozen_new != frozen_old:
        errors.append(FieldError.forbidden(
            "spec", "spec is immutable after creation except resources.requests and volumeAttributesClassName "
                    "for bound claims"))
    old_size = _storage(old.spec)
    new_size = _storage(new.spec)
    if old_size is not None and new_size is not None and new_size < old_size:
        errors.append(FieldError.forbidden("spec.resources.requests.storage",
                                           "field can not be less than previous value"))
    errors += immutable(new.spec.volume_mode, old.spec.volume_mode, "spec.volumeMode")
    return errors


def _storage(spec: core_pb2.PersistentVolumeClaimSpec) -> Decimal | None:
    if "storage" not in spec.resources.requests:
        return None
    amount = quantity(spec.resources.requests["storage"].string, "")
    return None if isinstance(amount, list) else amount


# ---------------------------------------------------------------------------------------- volumes


def validate_volume(volume: core_pb2.PersistentVolume) -> list[FieldError]:
    spec, path = volume.spec, "spec"
    errors = _access_modes(spec.access_modes, child(path, "accessModes"), "")
    capacity_path = child(path, "capacity")
    if not spec.capacity:
        errors.append(FieldError.required(capacity_path))
    if "storage" not in spec.capacity or len(spec.capacity) > 1:
        shown = GoLiteral("core.ResourceList{" + ", ".join(f'"{name}"' for name in sorted(spec.capacity)) + "}")
        errors.append(FieldError.unsupported(capacity_path, shown, ("storage",)))
    for name, amount in sorted(spec.capacity.items()):
        errors += positive_quantity(amount.string, key(capacity_path, name))
    if spec.persistent_volume_reclaim_policy:
        errors += one_of(spec.persistent_volume_reclaim_policy, RECLAIM_POLICIES,
                         child(path, "persistentVolumeReclaimPolicy"))
    affinity = False
    if spec.HasField("node_affinity"):
        affinity_path = child(path, "nodeAffinity")
        if spec.node_affinity.HasField("required"):
            affinity = True
            required_path = child(affinity_path, "required")
            terms = spec.node_affinity.required.node_selector_terms
            if not terms:
                errors.append(FieldError.required(child(required_path, "nodeSelectorTerms"),
                                                  "must have at least one node selector term"))
            for i, term in enumerate(terms):
                errors += validate_node_selector_term(term, index(child(required_path, "nodeSelectorTerms"), i))
        else:
            errors.append(FieldError.required(child(affinity_path, "required"),
                                              "must specify required node constraints"))
    count = 0
    for field, json_name in _PV_SOURCES:
        if not spec.HasField(field):
            continue
        at = child(path, json_name)
        if count:
            errors.append(FieldError.forbidden(at, "may not specify more than 1 volume type"))
            continue
        count += 1
        if field == "host_path":
            errors += host_path_source(spec.host_path, at)
        elif field == "nfs":
            errors += nfs_source(spec.nfs, at)
        else:
            if not spec.local.path:
                errors.append(FieldError.required(child(at, "path")))
            elif ".." in spec.local.path.split("/"):
                errors.append(FieldError.invalid(child(at, "path"), spec.local.path, "must not contain '..'"))
            if not affinity:
                errors.append(FieldError.required(child(path, "nodeAffinity"), "Local volume requires node affinity"))
    if not count:
        errors.append(FieldError.required(path, "must specify a volume type"))
    if spec.HasField("host_path") and spec.host_path.path.rstrip("/") == "" and spec.host_path.path and \
            spec.persistent_volume_reclaim_policy == "Recycle":
        errors.append(FieldError.forbidden(child(path, "persistentVolumeReclaimPolicy"),
                                           "may not be 'recycle' for a hostPath mount of '/'"))
    if spec.storage_class_name:
        errors += check_name(names.dns1123_subdomain, spec.storage_class_name, child(path, "storageClassName"))
    if spec.volume_mode:
        errors += one_of(spec.volume_mode, VOLUME_MODES, child(path, "volumeMode"))
    return errors


def validate_volume_update(new: core_pb2.PersistentVolume, old: core_pb2.PersistentVolume) -> list[FieldError]:
    """A volume's source never changes (its claimRef, capacity and policy may)."""
    errors = validate_volume(new)
    if any(new.spec.HasField(f) != old.spec.HasField(f) or getattr(new.spec, f) != getattr(old.spec, f)
           for f, _ in _PV_SOURCES):
        errors.append(FieldError.forbidden("spec.persistentvolumesource",
                                           "spec.persistentvolumesource is immutable after creation"))
    errors += immutable(new.spec.volume_mode, old.spec.volume_mode, "spec.volumeMode")
    if old.spec.HasField("node_affinity") and new.spec.node_affinity != old.spec.node_affinity:
        errors.append(FieldError.immutable("spec.nodeAffinity", GoLiteral("core.VolumeNodeAffinity{...}")))
    return errors


# ---------------------------------------------------------------------------------------- classes


def validate_storage_class(storage_class: storage_pb2.StorageClass) -> list[FieldError]:
    errors: list[FieldError] = []
    if not storage_class.provisioner:
        errors.append(FieldError.required("provisioner"))
    else:
        errors += check_name(names.qualified_name, storage_class.provisioner.lower(), "provisioner")
    parameters = storage_class.parameters
    if len(parameters) > MAX_PROVISIONER_PARAMETERS:
        errors.append(FieldError.too_long("parameters", MAX_PROVISIONER_PARAMETERS))
    else:
        for name in sorted(parameters):
            if not name:
                errors.append(FieldError.invalid("parameters", name, "field can not be empty."))
        if sum(len(k) + len(v) for k, v in parameters.items()) > MAX_PROVISIONER_PARAMETERS_SIZE:
            errors.append(FieldError.too_long("parameters", MAX_PROVISIONER_PARAMETERS_SIZE))
    if storage_class.HasField("reclaim_policy") and storage_class.reclaim_policy:
        errors += one_of(storage_class.reclaim_policy, STORAGE_CLASS_RECLAIM_POLICIES, "reclaimPolicy")
    if not storage_class.HasField("volume_binding_mode"):
        errors.append(FieldError.required("volumeBindingMode"))
    else:
        errors += one_of(storage_class.volume_binding_mode, VOLUME_BINDING_MODES, "volumeBindingMode")
    for i, term in enumerate(storage_class.allowed_topologies):
        term_path = index("allowedTopologies", i)
        if not term.match_label_expressions:
            errors.append(FieldError.required(child(term_path, "matchLabelExpressions"),
                                              "must have at least one label requirement"))
        for j, requirement in enumerate(term.match_label_expressions):
            at = index(child(term_path, "matchLabelExpressions"), j)
            errors += check_name(names.qualified_name, requirement.key, child(at, "key"))
            if not requirement.values:
                errors.append(FieldError.required(child(at, "values"), "must specify as least one value"))
    return errors


def validate_storage_class_update(new: storage_pb2.StorageClass, old: storage_pb2.StorageClass) -> list[FieldError]:
    errors: list[FieldError] = []
    if dict(new.parameters) != dict(old.parameters):
        errors.append(FieldError.forbidden("parameters", "updates to parameters are forbidden."))
    if new.provisioner != old.provisioner:
        errors.append(FieldError.forbidden("provisioner", "updates to provisioner are forbidden."))
    if new.reclaim_policy != old.reclaim_policy:
        errors.append(FieldError.forbidden("reclaimPolicy", "updates to reclaimPolicy are forbidden."))
    errors += immutable(new.volume_binding_mode, old.volume_binding_mode, "volumeBindingMode")
    return errors + validate_storage_class(new)
