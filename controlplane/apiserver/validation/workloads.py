"""Deployments, ReplicaSets and StatefulSets (Kubernetes' apps/v1 validation)."""

from __future__ import annotations

from collections.abc import Iterable

from controlplane.api import names
from controlplane.api.errors import FieldError
from controlplane.api.v1 import apps_pb2, core_pb2, meta_pb2
from controlplane.apiserver.validation.common import (
    GoLiteral,
    child,
    immutable,
    index,
    int_or_percent_value,
    int_or_string_value,
    label_map,
    label_selector_literal,
    nonnegative,
    not_more_than_100_percent,
    positive_int_or_percent,
    required_name,
    selector_is_empty,
    selector_matches,
    validate_annotations,
    validate_label_selector,
    validate_labels,
)
from controlplane.apiserver.validation.pod import validate_pod_template
from controlplane.apiserver.validation.storage import validate_claim_spec

DEPLOYMENT_STRATEGIES = ("Recreate", "RollingUpdate")
POD_MANAGEMENT_POLICIES = ("OrderedReady", "Parallel")
RETENTION_POLICIES = ("Retain", "Delete")


# ---------------------------------------------------------------------------------------- shared


def _selector_and_template(spec: apps_pb2.DeploymentSpec | apps_pb2.ReplicaSetSpec | apps_pb2.StatefulSetSpec,
                           noun: str, path: str, extra_volumes: Iterable[str] = ()) -> list[FieldError]:
    """The selector (required, valid, not empty) and the template it must select."""
    selector_path = child(path, "selector")
    template_path = child(path, "template")
    errors: list[FieldError] = []
    has_selector = spec.HasField("selector")
    if not has_selector:
        errors.append(FieldError.required(selector_path))
    else:
        errors += validate_label_selector(spec.selector, selector_path)
        if selector_is_empty(spec.selector):
            errors.append(FieldError.invalid(selector_path, label_selector_literal(spec.selector),
                                             f"empty selector is invalid for {noun}"))
    labels = spec.template.metadata.labels
    # A missing selector selects nothing (Kubernetes' LabelSelectorAsSelector(nil)); an empty one everything.
    matches = selector_matches(spec.selector, labels) if has_selector else False
    if matches is None:
        errors.append(FieldError.invalid(selector_path, label_selector_literal(spec.selector),
                                         "invalid label selector"))
    elif not matches and not (has_selector and selector_is_empty(spec.selector)):
        shown = label_map(labels) if labels else GoLiteral("map[string]string(nil)")
        errors.append(FieldError.invalid(child(child(template_path, "metadata"), "labels"), shown,
                                         "`selector` does not match template `labels`"))
    errors += validate_pod_template(spec.template, template_path, extra_volumes)
    template_spec = spec.template.spec
    if template_spec.restart_policy != "Always":
        errors.append(FieldError.unsupported(child(child(template_path, "spec"), "restartPolicy"),
                                             template_spec.restart_policy, ("Always",)))
    if template_spec.HasField("active_deadline_seconds"):
        kind = {"deployment": "ReplicaSet", "statefulset": "StatefulSet"}[noun]
        errors.append(FieldError.forbidden(child(child(template_path, "spec"), "activeDeadlineSeconds"),
                                           f"activeDeadlineSeconds in {kind} is not Supported"))
    return errors


def _replicas(spec: apps_pb2.DeploymentSpec | apps_pb2.ReplicaSetSpec | apps_pb2.StatefulSetSpec,
              path: str) -> list[FieldError]:
    return nonnegative(spec.replicas, child(path, "replicas"))


def _selector_immutable(new: meta_pb2.LabelSelector, old: meta_pb2.LabelSelector) -> list[FieldError]:
    return immutable(new, old, "spec.selector", label_selector_literal(new))


# ---------------------------------------------------------------------------------------- Deployment


def validate_deployment(deployment: apps_pb2.Deployment) -> list[FieldError]:
    spec, path = deployment.spec, "spec"
    errors = _replicas(spec, path)
    errors += _selector_and_template(spec, "deployment", path)
    errors += _strategy(spec.strategy, child(path, "strategy"))
    errors += nonnegative(spec.min_ready_seconds, child(path, "minReadySeconds"))
    if spec.HasField("revision_history_limit"):
        errors += nonnegative(spec.revision_history_limit, child(path, "revisionHistoryLimit"))
    if spec.HasField("progress_deadline_seconds"):
        deadline_path = child(path, "progressDeadlineSeconds")
        errors += nonnegative(spec.progress_deadline_seconds, deadline_path)
        if spec.progress_deadline_seconds <= spec.min_ready_seconds:
            errors.append(FieldError.invalid(deadline_path, spec.progress_deadline_seconds,
                                             "must be greater than minReadySeconds"))
    return errors


def validate_deployment_update(new: apps_pb2.Deployment, old: apps_pb2.Deployment) -> list[FieldError]:
    return validate_deployment(new) + _selector_immutable(new.spec.selector, old.spec.selector)


def _strategy(strategy: apps_pb2.DeploymentStrategy, path: str) -> list[FieldError]:
    type_path = child(path, "type")
    rolling_path = child(path, "rollingUpdate")
    if strategy.type == "Recreate":
        if strategy.HasField("rolling_update"):
            return [FieldError.forbidden(rolling_path, "may not be specified when strategy `type` is 'Recreate'")]
        return []
    if strategy.type != "RollingUpdate":
        return [FieldError.unsupported(type_path, strategy.type, DEPLOYMENT_STRATEGIES)]
    if not strategy.HasField("rolling_update"):
        return [FieldError.required(rolling_path, "this should be defaulted and never be nil")]
    rolling = strategy.rolling_update
    unavailable_path = child(rolling_path, "maxUnavailable")
    errors = positive_int_or_percent(rolling.max_unavailable, unavailable_path)
    errors += positive_int_or_percent(rolling.max_surge, child(rolling_path, "maxSurge"))
    if int_or_percent_value(rolling.max_unavailable) == 0 and int_or_percent_value(rolling.max_surge) == 0:
        errors.append(FieldError.invalid(unavailable_path, int_or_string_value(rolling.max_unavailable),
                                         "may not be 0 when `maxSurge` is 0"))
    errors += not_more_than_100_percent(rolling.max_unavailable, unavailable_path)
    return errors


# ---------------------------------------------------------------------------------------- ReplicaSet


def validate_replica_set(replica_set: apps_pb2.ReplicaSet) -> list[FieldError]:
    spec, path = replica_set.spec, "spec"
    errors = _replicas(spec, path)
    errors += nonnegative(spec.min_ready_seconds, child(path, "minReadySeconds"))
    # "for deployment" is Kubernetes' own wording for ReplicaSets too.
    errors += _selector_and_template(spec, "deployment", path)
    return errors


def validate_replica_set_update(new: apps_pb2.ReplicaSet, old: apps_pb2.ReplicaSet) -> list[FieldError]:
    return validate_replica_set(new) + _selector_immutable(new.spec.selector, old.spec.selector)


# ---------------------------------------------------------------------------------------- StatefulSet


def validate_stateful_set(stateful_set: apps_pb2.StatefulSet) -> list[FieldError]:
    spec, path = stateful_set.spec, "spec"
    errors: list[FieldError] = []
    policy_path = child(path, "podManagementPolicy")
    if not spec.pod_management_policy:
        errors.append(FieldError.required(policy_path))
    elif spec.pod_management_policy not in POD_MANAGEMENT_POLICIES:
        errors.append(FieldError.invalid(policy_path, spec.pod_management_policy,
                                         "must be 'OrderedReady' or 'Parallel'"))
    errors += _update_strategy(spec.update_strategy, child(path, "updateStrategy"))
    if spec.HasField("persistent_volume_claim_retention_policy"):
        retention_path = child(path, "persistentVolumeClaimRetentionPolicy")
        retention = spec.persistent_volume_claim_retention_policy
        for value, json_name in ((retention.when_deleted, "whenDeleted"), (retention.when_scaled, "whenScaled")):
            if value not in RETENTION_POLICIES:
                errors.append(FieldError.unsupported(child(retention_path, json_name), value, RETENTION_POLICIES))
    errors += _replicas(spec, path)
    errors += nonnegative(spec.min_ready_seconds, child(path, "minReadySeconds"))
    if spec.HasField("ordinals"):
        errors += nonnegative(spec.ordinals.start, child(path, "ordinals.start"))
    if spec.HasField("revision_history_limit"):
        errors += nonnegative(spec.revision_history_limit, child(path, "revisionHistoryLimit"))
    errors += _claim_templates(spec.volume_claim_templates, child(path, "volumeClaimTemplates"))
    claim_names = [claim.metadata.name for claim in spec.volume_claim_templates if claim.metadata.name]
    errors += _selector_and_template(spec, "statefulset", path, extra_volumes=claim_names)
    return errors


def _update_strategy(strategy: apps_pb2.StatefulSetUpdateStrategy, path: str) -> list[FieldError]:
    rolling_path = child(path, "rollingUpdate")
    if not strategy.type:
        return [FieldError.required(path)]
    if strategy.type == "OnDelete":
        if strategy.HasField("rolling_update"):
            return [FieldError.invalid(rolling_path, GoLiteral("apps.RollingUpdateStatefulSetStrategy{...}"),
                                       "only allowed for updateStrategy 'RollingUpdate'")]
        return []
    if strategy.type != "RollingUpdate":
        return [FieldError.invalid(path, strategy.type, "must be 'RollingUpdate' or 'OnDelete'")]
    if not strategy.HasField("rolling_update"):
        return []
    rolling = strategy.rolling_update
    errors = nonnegative(rolling.partition, child(rolling_path, "partition"))
    if rolling.HasField("max_unavailable"):
        unavailable_path = child(rolling_path, "maxUnavailable")
        errors += positive_int_or_percent(rolling.max_unavailable, unavailable_path)
        if int_or_percent_value(rolling.max_unavailable) == 0:
            errors.append(FieldError.invalid(unavailable_path, int_or_string_value(rolling.max_unavailable),
                                             "cannot be 0"))
        errors += not_more_than_100_percent(rolling.max_unavailable, unavailable_path)
    return errors


def _claim_templates(claims: Iterable[core_pb2.PersistentVolumeClaim], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, claim in enumerate(claims):
        at = index(path, i)
        name_path = child(child(at, "metadata"), "name")
        errors += required_name(names.dns1123_subdomain, claim.metadata.name, name_path)
        if claim.metadata.name in seen:
            errors.append(FieldError.duplicate(name_path, claim.metadata.name))
        seen.add(claim.metadata.name)
        errors += validate_labels(claim.metadata.labels, child(child(at, "metadata"), "labels"))
        errors += validate_annotations(claim.metadata.annotations, child(child(at, "metadata"), "annotations"))
        errors += validate_claim_spec(claim.spec, child(at, "spec"))
    return errors


# Only these StatefulSet spec fields may change (Kubernetes' ValidateStatefulSetUpdate, and
# revisionHistoryLimit, which only tunes how much history the controller keeps).
_STATEFUL_SET_MUTABLE = ("replicas", "ordinals", "template", "update_strategy",
                         "persistent_volume_claim_retention_policy", "min_ready_seconds", "revision_history_limit")


def validate_stateful_set_update(new: apps_pb2.StatefulSet, old: apps_pb2.StatefulSet) -> list[FieldError]:
    errors = validate_stateful_set(new) + _selector_immutable(new.spec.selector, old.spec.selector)
    frozen_new, frozen_old = apps_pb2.StatefulSetSpec(), apps_pb2.StatefulSetSpec()
    frozen_new.CopyFrom(new.spec)
    frozen_old.CopyFrom(old.spec)
    for field in (*_STATEFUL_SET_MUTABLE, "selector"):  # a selector change has its own error
        frozen_new.ClearField(field)
        frozen_old.ClearField(field)
    # Defaulting refills status.phase of the claim templates; it is not the user's change.
    for claim in (*frozen_new.volume_claim_templates, *frozen_old.volume_claim_templates):
        claim.ClearField("status")
    if frozen_new != frozen_old:
        errors.append(FieldError.forbidden(
            "spec", "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', "
                    "'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden"))
    return errors
