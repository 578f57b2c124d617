"""Pods and pod specs: volumes, containers, probes, resources, scheduling fields (Kubernetes'
ValidatePodSpec and ValidatePodUpdate).

`validate_pod_spec` takes the path of the spec, so a workload validates its template with
`spec.template.spec` and every error names the field as the user wrote it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal

from google.protobuf.message import Message

from controlplane.api import names
from controlplane.api.errors import FieldError, go_repr
from controlplane.api.v1 import core_pb2
from controlplane.apiserver.validation.common import (
    GoLiteral,
    check_name,
    child,
    http_header_name,
    index,
    invalid_each,
    key,
    nonnegative,
    nonnegative_quantity,
    one_of,
    port_num_or_name,
    port_number,
    protocol,
    quantity,
    quantity_text,
    required_name,
    valid_ip,
    validate_annotations,
    validate_label_selector,
    validate_labels,
)

RESTART_POLICIES = ("Always", "OnFailure", "Never")
DNS_POLICIES = ("ClusterFirstWithHostNet", "ClusterFirst", "Default", "None")
PULL_POLICIES = ("Always", "IfNotPresent", "Never")
TERMINATION_MESSAGE_POLICIES = ("File", "FallbackToLogsOnError")
PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")
HOST_PATH_TYPES = ("", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate",
                   "Socket")
MOUNT_PROPAGATIONS = ("Bidirectional", "HostToContainer", "None")
HTTP_SCHEMES = ("HTTP", "HTTPS")
TOLERATION_OPERATORS = ("Equal", "Exists")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
SECCOMP_TYPES = ("Localhost", "RuntimeDefault", "Unconfined")
NODE_SELECTOR_OPERATORS = ("DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn")
WHEN_UNSATISFIABLE = ("DoNotSchedule", "ScheduleAnyway")
FILE_MODE_ERROR = "must be a number between 0 and 0777 (octal), both inclusive"
MAX_INT32 = 2**31 - 1
MAX_DNS_NAMESERVERS = 3
MAX_DNS_SEARCH_PATHS = 32

# The field paths a downward-API reference may name (Kubernetes' valid*FieldPathExpressions).
ENV_FIELD_PATHS = ("metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
                   "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs")
VOLUME_FIELD_PATHS = ("metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
                      "metadata.uid")
_CONVERTIBLE_FIELD_PATHS = frozenset({
    "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid",
    "spec.nodeName", "spec.restartPolicy", "spec.serviceAccountName", "spec.schedulerName", "status.phase",
    "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"})
_SUBSCRIPTED = re.compile(r"(metadata\.(?:annotations|labels))\['(.*)'\]")
RESOURCE_FIELD_PATHS = ("limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu",
                        "requests.ephemeral-storage", "requests.memory")
_CPU_DIVISORS = ("1m", "1")
_SIZE_DIVISORS = ("1", "1k", "1M", "1G", "1T", "1P", "1E", "1Ki", "1Mi", "1Gi", "1Ti", "1Pi", "1Ei")

CONTAINER_RESOURCES = ("cpu", "memory", "ephemeral-storage")
# Kubernetes' standardResources: the names that need no domain prefix.
STANDARD_RESOURCES = frozenset({
    "cpu", "memory", "ephemeral-storage", "storage", "pods", "services", "replicationcontrollers",
    "resourcequotas", "secrets", "configmaps", "persistentvolumeclaims", "requests.cpu", "requests.memory",
    "requests.storage", "requests.ephemeral-storage", "limits.cpu", "limits.memory", "limits.ephemeral-storage"})

# The fields a pod update may change (Kubernetes' updatablePodSpecFieldsNoResources), plus the
# node binding, which kubelab's scheduler writes with an update.
UPDATABLE_POD_SPEC_FIELDS = (
    "`spec.containers[*].image`", "`spec.initContainers[*].image`", "`spec.activeDeadlineSeconds`",
    "`spec.tolerations` (only additions to existing tolerations)",
    "`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)")

_VOLUME_SOURCES = (("empty_dir", "emptyDir"), ("host_path", "hostPath"), ("secret", "secret"), ("nfs", "nfs"),
                   ("persistent_volume_claim", "persistentVolumeClaim"), ("downward_api", "downwardAPI"),
                   ("config_map", "configMap"), ("projected", "projected"))


# ---------------------------------------------------------------------------------------- entry points


def validate_pod(pod: core_pb2.Pod) -> list[FieldError]:
    """A Pod's spec (its metadata is validated by the caller)."""
    errors = validate_pod_spec(pod.spec, "spec", is_pod=True)
    for group, containers in (("containers", pod.spec.containers), ("initContainers", pod.spec.init_containers)):
        for i, container in enumerate(containers):
            if container.image != container.image.strip():
                errors.append(FieldError.invalid(child(index(child("spec", group), i), "image"), container.image,
                                                 "must not have leading or trailing whitespace"))
    return errors


def validate_pod_template(template: core_pb2.PodTemplateSpec, path: str,
                          extra_volumes: Iterable[str] = ()) -> list[FieldError]:
    """A workload's pod template: its labels, annotations and pod spec (Kubernetes' ValidatePodTemplateSpec)."""
    meta_path = child(path, "metadata")
    errors = validate_labels(template.metadata.labels, child(meta_path, "labels"))
    errors += validate_annotations(template.metadata.annotations, child(meta_path, "annotations"))
    errors += validate_pod_spec(template.spec, child(path, "spec"), extra_volumes=extra_volumes)
    return errors


def validate_pod_spec(spec: core_pb2.PodSpec, path: str, *, is_pod: bool = False,
                      extra_volumes: Iterable[str] = ()) -> list[FieldError]:
    """Every rule of Kubernetes' ValidatePodSpec that kubelab's PodSpec has fields for.

    `extra_volumes` are volume names that exist without being in `volumes` (a StatefulSet's
    volumeClaimTemplates), so mounts of them are found.
    """
    grace = spec.termination_grace_period_seconds if spec.HasField("termination_grace_period_seconds") else 0
    volumes, errors = _volumes(spec.volumes, child(path, "volumes"))
    volume_names = set(volumes) | set(extra_volumes)
    errors += _containers(spec.containers, volume_names, grace, child(path, "containers"))
    errors += _init_containers(spec.init_containers, spec.containers, volume_names, grace,
                               child(path, "initContainers"))
    errors += _host_network_ports(spec, path, is_pod)
    errors += one_of(spec.restart_policy, RESTART_POLICIES, child(path, "restartPolicy"))
    errors += one_of(spec.dns_policy, DNS_POLICIES, child(path, "dnsPolicy"))
    errors += validate_labels(spec.node_selector, child(path, "nodeSelector"))
    if spec.HasField("security_context"):
        errors += _pod_security_context(spec.security_context, child(path, "securityContext"))
    if spec.HasField("affinity"):
        errors += _affinity(spec.affinity, child(path, "affinity"))
    errors += _dns_config(spec, child(path, "dnsConfig"))
    errors += _topology_spread(spec.topology_spread_constraints, child(path, "topologySpreadConstraints"))
    if spec.service_account_name:
        errors += check_name(names.dns1123_subdomain, spec.service_account_name, child(path, "serviceAccountName"))
    if spec.node_name:
        errors += check_name(names.dns1123_subdomain, spec.node_name, child(path, "nodeName"))
    if spec.HasField("active_deadline_seconds") and not 1 <= spec.active_deadline_seconds <= MAX_INT32:
        errors.append(FieldError.invalid(child(path, "activeDeadlineSeconds"), spec.active_deadline_seconds,
                                         names.inclusive_range_error(1, MAX_INT32)))
    if spec.hostname:
        errors += check_name(names.dns1123_label, spec.hostname, child(path, "hostname"))
    if spec.subdomain:
        errors += check_name(names.dns1123_label, spec.subdomain, child(path, "subdomain"))
    errors += validate_tolerations(spec.tolerations, child(path, "tolerations"))
    for i, alias in enumerate(spec.host_aliases):
        at = index(child(path, "hostAliases"), i)
        errors += valid_ip(alias.ip, child(at, "ip"))
        for j, hostname in enumerate(alias.hostnames):
            errors += check_name(names.dns1123_subdomain, hostname, index(child(at, "hostnames"), j))
    if spec.priority_class_name:
        errors += check_name(names.dns1123_subdomain, spec.priority_class_name, child(path, "priorityClassName"))
    if spec.preemption_policy:
        errors += one_of(spec.preemption_policy, PREEMPTION_POLICIES, child(path, "preemptionPolicy"))
    return errors


def validate_pod_update(new: core_pb2.Pod, old: core_pb2.Pod) -> list[FieldError]:
    """What a Pod update may change: images, activeDeadlineSeconds (down only), added tolerations,
    and (kubelab's binding) spec.nodeName from empty to a node."""
    errors = validate_pod(new)
    spec_path = "spec"
    for group, new_list, old_list in (("containers", new.spec.containers, old.spec.containers),
                                      ("initContainers", new.spec.init_containers, old.spec.init_containers)):
        if len(new_list) != len(old_list):
            errors.append(FieldError.forbidden(child(spec_path, group), "pod updates may not add or remove containers"))
            return errors
    deadline_path = child(spec_path, "activeDeadlineSeconds")
    if new.spec.HasField("active_deadline_seconds"):
        deadline = new.spec.active_deadline_seconds
        if not 0 <= deadline <= MAX_INT32:
            errors.append(FieldError.invalid(deadline_path, deadline, names.inclusive_range_error(0, MAX_INT32)))
            return errors
        if old.spec.HasField("active_deadline_seconds") and old.spec.active_deadline_seconds < deadline:
            errors.append(FieldError.invalid(deadline_path, deadline, "must be less than or equal to previous value"))
            return errors
    elif old.spec.HasField("active_deadline_seconds"):
        errors.append(FieldError.invalid(deadline_path, GoLiteral("null"),
                                         "must not update from a positive integer to nil value"))
    errors += _only_added_tolerations(new.spec.tolerations, old.spec.tolerations, child(spec_path, "tolerations"))
    if new.spec == old.spec:
        return errors
    munged = core_pb2.PodSpec()
    munged.CopyFrom(new.spec)
    for mine, theirs in ((munged.containers, old.spec.containers), (munged.init_containers, old.spec.init_containers)):
        for container, previous in zip(mine, theirs, strict=True):
            container.image = previous.image
    if old.spec.HasField("active_deadline_seconds"):
        munged.active_deadline_seconds = old.spec.active_deadline_seconds
    else:
        munged.ClearField("active_deadline_seconds")
    del munged.tolerations[:]
    munged.tolerations.extend(old.spec.tolerations)
    if not old.spec.node_name:
        munged.node_name = ""
    if (old.spec.HasField("termination_grace_period_seconds") and old.spec.termination_grace_period_seconds < 0
            and munged.termination_grace_period_seconds == 1):
        munged.termination_grace_period_seconds = old.spec.termination_grace_period_seconds
    if munged != old.spec:
        errors.append(FieldError.forbidden(
            spec_path, "pod updates may not change fields other than " + ",".join(UPDATABLE_POD_SPEC_FIELDS)))
    return errors


def _only_added_tolerations(new: Iterable[core_pb2.Toleration], old: Iterable[core_pb2.Toleration],
                            path: str) -> list[FieldError]:
    new_list = list(new)
    for previous in old:
        if not any(_same_toleration(previous, candidate) for candidate in new_list):
            return [FieldError.forbidden(path, "existing toleration can not be modified except its tolerationSeconds")]
    return []


def _same_toleration(a: core_pb2.Toleration, b: core_pb2.Toleration) -> bool:
    return (a.key, a.operator, a.value, a.effect) == (b.key, b.operator, b.value, b.effect)


# ---------------------------------------------------------------------------------------- volumes


def _volumes(volumes: Iterable[core_pb2.Volume], path: str) -> tuple[dict[str, core_pb2.Volume], list[FieldError]]:
    """The valid volumes by name (mounts of an invalid one are then not found), and the errors."""
    valid: dict[str, core_pb2.Volume] = {}
    errors: list[FieldError] = []
    for i, volume in enumerate(volumes):
        at = index(path, i)
        name_path = child(at, "name")
        found = _volume_source(volume, at)
        found += required_name(names.dns1123_label, volume.name, name_path)
        if volume.name in valid:
            found.append(FieldError.duplicate(name_path, volume.name))
        if found:
            errors += found
        else:
            valid[volume.name] = volume
    return valid, errors


def _volume_source(volume: core_pb2.Volume, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    count = 0
    for field, json_name in _VOLUME_SOURCES:
        if not volume.HasField(field):
            continue
        at = child(path, json_name)
        if count:
            errors.append(FieldError.forbidden(at, "may not specify more than 1 volume type"))
            continue
        count += 1
        errors += _SOURCE_CHECKS[field](volume, at)
    if not count:
        errors.append(FieldError.required(path, "must specify a volume type"))
    return errors


def _empty_dir(volume: core_pb2.Volume, path: str) -> list[FieldError]:
    source = volume.empty_dir
    if source.HasField("size_limit"):
        amount = quantity(source.size_limit.string, child(path, "sizeLimit"))
        if isinstance(amount, list):
            return amount
        if amount < 0:
            return [FieldError.forbidden(child(path, "sizeLimit"), "SizeLimit field must be a valid resource quantity")]
    return []


def host_path_source(source: core_pb2.HostPathVolumeSource, path: str) -> list[FieldError]:
    if not source.path:
        return [FieldError.required(child(path, "path"))]
    errors = _no_backsteps(source.path, child(path, "path"))
    errors += one_of(source.type, HOST_PATH_TYPES, child(path, "type"), required=False)
    return errors


def _host_path(volume: core_pb2.Volume, path: str) -> list[FieldError]:
    return host_path_source(volume.host_path, path)


def _secret(volume: core_pb2.Volume, path: str) -> list[FieldError]:
    source = volume.secret
    errors = [] if source.secret_name else [FieldError.required(child(path, "secretName"))]
    errors += _mode(source, "default_mode", child(path, "defaultMode"))
    for i, item in enumerate(source.items):
        errors += _key_to_path(item, index(child(path, "items"), i))
    return errors


def _config_map(volume: core_pb2.Volume, path: str) -> list[FieldError]:
    source = volume.config_map
    errors = [] if source.name else [FieldError.required(child(path, "name"))]
    errors += _mode(source, "default_mode", child(path, "defaultMode"))
    for i, item in enumerate(source.items):
        errors += _key_to_path(item, index(child(path, "items"), i))
    return errors


def nfs_source(source: core_pb2.NFSVolumeSource, path: str) -> list[FieldError]:
    errors = [] if source.server else [FieldError.required(child(path, "server"))]
    if not source.path:
        errors.append(FieldError.required(child(path, "path")))
    if not source.path.startswith("/"):
        errors.append(FieldError.invalid(child(path, "path"), source.path, "must be an absolute path"))
    return errors


def _nfs(volume: core_pb2.Volume, path: str) -> list[FieldError]:
    return nfs_source(volume.nfs, path)


def _claim(volume: core_pb2.Volume, path: str) -> list[FieldError]:
    return [] if volume.persistent_volume_claim.claim_name else [FieldError.required(child(path, "claimName"))]


def _downward_api(volume: core_pb2.Volume, path: str) -> list[FieldError]:
    source = volume.downward_api
    errors = _mode(source, "default_mode", child(path, "defaultMode"))
    for item in source.items:
        errors += _downward_file(item, path)
    return errors


def _projected(volume: core_pb2.Volume, path: str) -> list[FieldError]:
    source = volume.projected
    errors = _mode(source, "default_mode", child(path, "defaultMode"))
    paths: set[str] = set()

    def claim_path(file_path: str, shown: str) -> None:
        if not file_path:
            return
        if file_path in paths:
            errors.append(FieldError.invalid(path, shown, "conflicting duplicate paths"))
        paths.add(file_path)

    for i, projection in enumerate(source.sources):
        at = index(child(path, "sources"), i)
        count = 0
        for field, json_name in (("secret", "secret"), ("config_map", "configMap")):
            if not projection.HasField(field):
                continue
            count += 1
            part = getattr(projection, field)
            if not part.name:
                errors.append(FieldError.required(child(child(at, json_name), "name")))
            for j, item in enumerate(part.items):
                errors += _key_to_path(item, index(child(child(at, json_name), "items"), j))
                claim_path(item.path, part.name)
        if projection.HasField("downward_api"):
            count += 1
            for item in projection.downward_api.items:
                errors += _downward_file(item, child(at, "downwardAPI"))
                claim_path(item.path, item.path)
        if projection.HasField("service_account_token"):
            count += 1
            token = projection.service_account_token
            token_path = child(at, "serviceAccountToken")
            if token.expiration_seconds < 600:
                errors.append(FieldError.invalid(child(token_path, "expirationSeconds"), token.expiration_seconds,
                                                 "may not specify a duration less than 10 minutes"))
            if token.expiration_seconds > 1 << 32:
                errors.append(FieldError.invalid(child(token_path, "expirationSeconds"), token.expiration_seconds,
                                                 "may not specify a duration larger than 2^32 seconds"))
            if not token.path:
                errors.append(FieldError.required(child(path, "path")))
            else:
                errors += _local_path(token.path, child(path, "path"))
        if count > 1:
            errors.append(FieldError.forbidden(at, "may not specify more than 1 volume type"))
    return errors


_SOURCE_CHECKS = {
    "empty_dir": _empty_dir,
    "host_path": _host_path,
    "secret": _secret,
    "nfs": _nfs,
    "persistent_volume_claim": _claim,
    "downward_api": _downward_api,
    "config_map": _config_map,
    "projected": _projected,
}


def _mode(message: Message, field: str, path: str) -> list[FieldError]:
    if message.HasField(field):
        mode = getattr(message, field)
        if not 0 <= mode <= 0o777:
            return [FieldError.invalid(path, mode, FILE_MODE_ERROR)]
    return []


def _key_to_path(item: core_pb2.KeyToPath, path: str) -> list[FieldError]:
    errors = [] if item.key else [FieldError.required(child(path, "key"))]
    if not item.path:
        errors.append(FieldError.required(child(path, "path")))
    errors += _local_path(item.path, child(path, "path"))
    errors += _mode(item, "mode", child(path, "mode"))
    return errors


def _downward_file(item: core_pb2.DownwardAPIVolumeFile, path: str) -> list[FieldError]:
    errors = [] if item.path else [FieldError.required(child(path, "path"))]
    errors += _local_path(item.path, child(path, "path"))
    if item.HasField("field_ref"):
        errors += _field_selector(item.field_ref, VOLUME_FIELD_PATHS, child(path, "fieldRef"))
        if item.HasField("resource_field_ref"):
            errors.append(FieldError.invalid(path, "resource",
                                             "fieldRef and resourceFieldRef can not be specified simultaneously"))
    elif item.HasField("resource_field_ref"):
        errors += _resource_field_selector(item.resource_field_ref, child(path, "resourceFieldRef"), volume=True)
    else:
        errors.append(FieldError.required(path, "one of fieldRef and resourceFieldRef is required"))
    errors += _mode(item, "mode", child(path, "mode"))
    return errors


def _no_backsteps(value: str, path: str) -> list[FieldError]:
    if ".." in value.split("/"):
        return [FieldError.invalid(path, value, "must not contain '..'")]
    return []


def _local_descending_path(value: str, path: str) -> list[FieldError]:
    errors = [FieldError.invalid(path, value, "must be a relative path")] if value.startswith("/") else []
    return errors + _no_backsteps(value, path)


def _local_path(value: str, path: str) -> list[FieldError]:
    """Kubernetes' ValidateLocalNonReservedPath: relative, without '..' elements, not starting with '..'."""
    errors = _local_descending_path(value, path)
    if value.startswith("..") and not value.startswith("../"):
        errors.append(FieldError.invalid(path, value, "must not start with '..'"))
    return errors


# ---------------------------------------------------------------------------------------- containers


def _containers(containers: Iterable[core_pb2.Container], volumes: set[str], grace: int,
                path: str) -> list[FieldError]:
    listed = list(containers)
    if not listed:
        return [FieldError.required(path)]
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, container in enumerate(listed):
        at = index(path, i)
        errors += _container_common(container, volumes, at)
        if container.name in seen:
            errors.append(FieldError.duplicate(child(at, "name"), container.name))
        else:
            seen.add(container.name)
        errors += _lifecycle_and_probes(container, grace, at)
        if container.restart_policy:
            errors.append(FieldError.forbidden(child(at, "restartPolicy"), "may not be set for non-init containers"))
    errors += _host_port_conflicts(listed, path)
    return errors


def _init_containers(containers: Iterable[core_pb2.Container], regular: Iterable[core_pb2.Container],
                     volumes: set[str], grace: int, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    seen = {container.name for container in regular}
    for i, container in enumerate(containers):
        at = index(path, i)
        errors += _container_common(container, volumes, at)
        sidecar = False
        if container.restart_policy:
            errors += one_of(container.restart_policy, ("Always",), child(at, "restartPolicy"))
            sidecar = container.restart_policy == "Always"
        if container.name in seen:
            errors.append(FieldError.duplicate(child(at, "name"), container.name))
        elif container.name:
            seen.add(container.name)
        errors += _host_port_conflicts([container], path, first=i)
        if sidecar:
            errors += _lifecycle_and_probes(container, grace, at)
        else:
            for field, json_name in (("lifecycle", "lifecycle"), ("liveness_probe", "livenessProbe"),
                                     ("readiness_probe", "readinessProbe"), ("startup_probe", "startupProbe")):
                if container.HasField(field):
                    errors.append(FieldError.forbidden(
                        child(at, json_name), "may not be set for init containers without restartPolicy=Always"))
    return errors


def _container_common(container: core_pb2.Container, volumes: set[str], path: str) -> list[FieldError]:
    errors = required_name(names.dns1123_label, container.name, child(path, "name"))
    if not container.image:
        errors.append(FieldError.required(child(path, "image")))
    errors += one_of(container.termination_message_policy, TERMINATION_MESSAGE_POLICIES,
                     child(path, "terminationMessagePolicy"))
    errors += _container_ports(container.ports, child(path, "ports"))
    errors += _env(container.env, child(path, "env"))
    errors += _env_from(container.env_from, child(path, "envFrom"))
    errors += _volume_mounts(container, volumes, child(path, "volumeMounts"))
    errors += one_of(container.image_pull_policy, PULL_POLICIES, child(path, "imagePullPolicy"))
    errors += validate_resources(container.resources, child(path, "resources"))
    if container.HasField("security_context"):
        errors += _security_context(container.security_context, child(path, "securityContext"))
    return errors


def _container_ports(ports: Iterable[core_pb2.ContainerPort], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, port in enumerate(ports):
        at = index(path, i)
        if port.name:
            problems = names.port_name(port.name)
            if problems:
                errors += invalid_each(child(at, "name"), port.name, problems)
            elif port.name in seen:
                errors.append(FieldError.duplicate(child(at, "name"), port.name))
            else:
                seen.add(port.name)
        if port.container_port == 0:
            errors.append(FieldError.required(child(at, "containerPort")))
        else:
            errors += port_number(port.container_port, child(at, "containerPort"))
        if port.host_port != 0:
            errors += port_number(port.host_port, child(at, "hostPort"))
        errors += protocol(port.protocol, child(at, "protocol"))
    return errors


def _host_port_conflicts(containers: list[core_pb2.Container], path: str, first: int = 0) -> list[FieldError]:
    errors: list[FieldError] = []
    taken: set[str] = set()
    for offset, container in enumerate(containers):
        for j, port in enumerate(container.ports):
            if port.host_port == 0:
                continue
            claim = f"{port.protocol}/{port.host_ip}/{port.host_port}"
            if claim in taken:
                errors.append(FieldError.duplicate(
                    child(index(child(index(path, first + offset), "ports"), j), "hostPort"), claim))
            taken.add(claim)
    return errors


def _host_network_ports(spec: core_pb2.PodSpec, path: str, is_pod: bool) -> list[FieldError]:
    if not spec.host_network:
        return []
    errors = []
    for i, container in enumerate(spec.containers):
        for j, port in enumerate(container.ports):
            if (is_pod or port.host_port != 0) and port.host_port != port.container_port:
                errors.append(FieldError.invalid(
                    child(index(child(index(child(path, "containers"), i), "ports"), j), "hostPort"),
                    port.host_port, "must match `containerPort` when `hostNetwork` is true"))
    return errors


# ---------------------------------------------------------------------------------------- env


def _env(variables: Iterable[core_pb2.EnvVar], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, variable in enumerate(variables):
        at = index(path, i)
        errors += required_name(names.env_var_name, variable.name, child(at, "name"))
        if variable.HasField("value_from"):
            errors += _value_from(variable, child(at, "valueFrom"))
    return errors


def _value_from(variable: core_pb2.EnvVar, path: str) -> list[FieldError]:
    source = variable.value_from
    errors: list[FieldError] = []
    count = 0
    if source.HasField("field_ref"):
        count += 1
        errors += _field_selector(source.field_ref, ENV_FIELD_PATHS, child(path, "fieldRef"))
    if source.HasField("resource_field_ref"):
        count += 1
        errors += _resource_field_selector(source.resource_field_ref, child(path, "resourceFieldRef"), volume=False)
    for field, json_name in (("config_map_key_ref", "configMapKeyRef"), ("secret_key_ref", "secretKeyRef")):
        if source.HasField(field):
            count += 1
            selector = getattr(source, field)
            at = child(path, json_name)
            errors += check_name(names.dns1123_subdomain, selector.name, child(at, "name"))
            errors += required_name(names.config_map_key, selector.key, child(at, "key"))
    if count == 0:
        errors.append(FieldError.invalid(
            path, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
    elif variable.value:
        errors.append(FieldError.invalid(path, "", "may not be specified when `value` is not empty"))
    elif count > 1:
        errors.append(FieldError.invalid(path, "", "may not have more than one field specified at a time"))
    return errors


def _field_selector(selector: core_pb2.ObjectFieldSelector, allowed: tuple[str, ...], path: str) -> list[FieldError]:
    if not selector.api_version:
        return [FieldError.required(child(path, "apiVersion"))]
    if not selector.field_path:
        return [FieldError.required(child(path, "fieldPath"))]
    field_path = selector.field_path
    subscripted = _SUBSCRIPTED.fullmatch(field_path)
    plain = subscripted.group(1) if subscripted else field_path
    if selector.api_version != "v1":
        return [FieldError.invalid(child(path, "fieldPath"), field_path,
                                   f"error converting fieldPath: unsupported pod version: {selector.api_version}")]
    if plain not in _CONVERTIBLE_FIELD_PATHS:
        return [FieldError.invalid(child(path, "fieldPath"), field_path,
                                   f"error converting fieldPath: field label not supported: {field_path}")]
    if subscripted:
        label_key = subscripted.group(2)
        if plain == "metadata.annotations":
            label_key = label_key.lower()
        return invalid_each(path, label_key, names.qualified_name(label_key))
    if field_path not in allowed:
        return [FieldError.unsupported(child(path, "fieldPath"), field_path, allowed)]
    return []


def _resource_field_selector(selector: core_pb2.ResourceFieldSelector, path: str, *, volume: bool) -> list[FieldError]:
    errors: list[FieldError] = []
    resource = selector.resource
    if volume and not selector.container_name:
        errors.append(FieldError.required(child(path, "containerName")))
    elif not resource:
        errors.append(FieldError.required(child(path, "resource")))
    elif resource not in RESOURCE_FIELD_PATHS and not resource.startswith(("requests.hugepages-", "limits.hugepages-")):
        errors.append(FieldError.unsupported(child(path, "resource"), resource, RESOURCE_FIELD_PATHS))
    if selector.HasField("divisor") and selector.divisor.string:
        shown = quantity_text(selector.divisor.string)
        amount = quantity(selector.divisor.string, child(path, "divisor"))
        if isinstance(amount, list):
            errors += amount
        elif amount != 0:
            if resource in ("limits.cpu", "requests.cpu") and shown not in _CPU_DIVISORS:
                errors.append(FieldError.invalid(child(path, "divisor"), resource,
                                                 "only divisor's values 1m and 1 are supported with the cpu resource"))
            elif resource in ("limits.memory", "requests.memory") and shown not in _SIZE_DIVISORS:
                errors.append(FieldError.invalid(
                    child(path, "divisor"), resource,
                    "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported "
                    "with the memory resource"))
            elif resource in ("limits.ephemeral-storage", "requests.ephemeral-storage") and \
                    shown not in _SIZE_DIVISORS:
                errors.append(FieldError.invalid(
                    child(path, "divisor"), resource,
                    "only divisor's values 1, 1k, 1M, 1G, 1T, 1P, 1E, 1Ki, 1Mi, 1Gi, 1Ti, 1Pi, 1Ei are supported "
                    "with the local ephemeral storage resource"))
    return errors


def _env_from(sources: Iterable[core_pb2.EnvFromSource], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, source in enumerate(sources):
        at = index(path, i)
        if source.prefix:
            errors += check_name(names.env_var_name, source.prefix, child(at, "prefix"))
        count = 0
        for field, json_name in (("config_map_ref", "configMapRef"), ("secret_ref", "secretRef")):
            if source.HasField(field):
                count += 1
                errors += required_name(names.dns1123_subdomain, getattr(source, field).name,
                                        child(child(at, json_name), "name"))
        if count == 0:
            errors.append(FieldError.invalid(at, "", "must specify one of: `configMapRef` or `secretRef`"))
        elif count > 1:
            errors.append(FieldError.invalid(at, "", "may not have more than one field specified at a time"))
    return errors


# ---------------------------------------------------------------------------------------- mounts


def _volume_mounts(container: core_pb2.Container, volumes: set[str], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    mount_points: set[str] = set()
    privileged = container.HasField("security_context") and container.security_context.privileged
    for i, mount in enumerate(container.volume_mounts):
        at = index(path, i)
        if not mount.name:
            errors.append(FieldError.required(child(at, "name")))
        if mount.name not in volumes:
            errors.append(FieldError.not_found(child(at, "name"), mount.name))
        if not mount.mount_path:
            errors.append(FieldError.required(child(at, "mountPath")))
        if mount.mount_path in mount_points:
            errors.append(FieldError.invalid(child(at, "mountPath"), mount.mount_path, "must be unique"))
        mount_points.add(mount.mount_path)
        if mount.sub_path:
            errors += _local_descending_path(mount.sub_path, child(at, "subPath"))
        if mount.sub_path_expr:
            if mount.sub_path:
                errors.append(FieldError.invalid(child(at, "subPathExpr"), mount.sub_path_expr,
                                                 "subPathExpr and subPath are mutually exclusive"))
            errors += _local_descending_path(mount.sub_path_expr, child(at, "subPathExpr"))
        if mount.mount_propagation:
            propagation_path = child(at, "mountPropagation")
            errors += one_of(mount.mount_propagation, MOUNT_PROPAGATIONS, propagation_path)
            if mount.mount_propagation == "Bidirectional" and not privileged:
                errors.append(FieldError.forbidden(
                    propagation_path, "Bidirectional mount propagation is available only to privileged containers"))
    return errors


# ---------------------------------------------------------------------------------------- probes


def _lifecycle_and_probes(container: core_pb2.Container, grace: int, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if container.HasField("lifecycle"):
        for hook, json_name in (("post_start", "postStart"), ("pre_stop", "preStop")):
            if container.lifecycle.HasField(hook):
                hook_path = child(child(path, "lifecycle"), json_name)
                errors += _handler(getattr(container.lifecycle, hook), grace, hook_path)
    for field, json_name in (("liveness_probe", "livenessProbe"), ("readiness_probe", "readinessProbe"),
                             ("startup_probe", "startupProbe")):
        if not container.HasField(field):
            continue
        probe = getattr(container, field)
        at = child(path, json_name)
        errors += _probe(probe, grace, at)
        if field != "readiness_probe" and probe.success_threshold != 1:
            errors.append(FieldError.invalid(child(at, "successThreshold"), probe.success_threshold, "must be 1"))
        if field == "readiness_probe" and probe.HasField("termination_grace_period_seconds"):
            errors.append(FieldError.invalid(child(at, "terminationGracePeriodSeconds"),
                                             probe.termination_grace_period_seconds,
                                             "must not be set for readinessProbes"))
    return errors


def _probe(probe: core_pb2.Probe, grace: int, path: str) -> list[FieldError]:
    errors = _handler(probe, grace, path)
    for field, json_name in (("initial_delay_seconds", "initialDelaySeconds"), ("timeout_seconds", "timeoutSeconds"),
                             ("period_seconds", "periodSeconds"), ("success_threshold", "successThreshold"),
                             ("failure_threshold", "failureThreshold")):
        errors += nonnegative(getattr(probe, field), child(path, json_name))
    if probe.HasField("termination_grace_period_seconds") and probe.termination_grace_period_seconds <= 0:
        errors.append(FieldError.invalid(child(path, "terminationGracePeriodSeconds"),
                                         probe.termination_grace_period_seconds, "must be greater than 0"))
    return errors


def _handler(handler: core_pb2.Probe | core_pb2.LifecycleHandler, grace: int, path: str) -> list[FieldError]:
    """Exactly one of exec, httpGet, tcpSocket, grpc (probes) or sleep (lifecycle hooks)."""
    errors: list[FieldError] = []
    count = 0
    for field, json_name in (("exec", "exec"), ("http_get", "httpGet"), ("tcp_socket", "tcpSocket"), ("grpc", "grpc"),
                             ("sleep", "sleep")):
        if field not in handler.DESCRIPTOR.fields_by_name or not handler.HasField(field):
            continue
        at = child(path, json_name)
        if count:
            errors.append(FieldError.forbidden(at, "may not specify more than 1 handler type"))
            continue
        count += 1
        action = getattr(handler, field)
        if field == "exec":
            if not action.command:
                errors.append(FieldError.required(child(at, "command")))
        elif field == "http_get":
            errors += _http_get(action, at)
        elif field == "tcp_socket":
            errors += port_num_or_name(action.port, child(at, "port"))
        elif field == "grpc":
            errors += port_number(action.port, child(at, "port"))
        elif action.seconds <= 0 or action.seconds > grace:
            errors.append(FieldError.invalid(
                at, action.seconds, f"must be greater than 0 and less than terminationGracePeriodSeconds ({grace})"))
    if not count:
        errors.append(FieldError.required(path, "must specify a handler type"))
    return errors


def _http_get(action: core_pb2.HTTPGetAction, path: str) -> list[FieldError]:
    errors = [] if action.path else [FieldError.required(child(path, "path"))]
    errors += port_num_or_name(action.port, child(path, "port"))
    if action.scheme not in HTTP_SCHEMES:
        errors.append(FieldError.unsupported(child(path, "scheme"), action.scheme, HTTP_SCHEMES))
    for header in action.http_headers:
        errors += invalid_each(child(path, "httpHeaders"), header.name, http_header_name(header.name))
    return errors


# ---------------------------------------------------------------------------------------- resources


def _is_native(name: str) -> bool:
    return "/" not in name or "kubernetes.io/" in name


def _is_huge_pages(name: str) -> bool:
    return name.startswith("hugepages-")


def _overcommit_allowed(name: str) -> bool:
    return _is_native(name) and not _is_huge_pages(name)


def _container_resource_name(name: str, path: str) -> list[FieldError]:
    problems = names.qualified_name(name)
    if problems:
        return invalid_each(path, name, problems)
    if "/" not in name:
        errors = []
        if name not in STANDARD_RESOURCES and not _is_huge_pages(name):
            errors.append(FieldError.invalid(path, name, "must be a standard resource type or fully qualified"))
        if name not in CONTAINER_RESOURCES and not _is_huge_pages(name):
            errors.append(FieldError.invalid(path, name, "must be a standard resource for containers"))
        return errors
    if not _is_native(name) and (name.startswith("requests.") or names.qualified_name("requests." + name)):
        return [FieldError.invalid(path, name, "doesn't follow extended resource name standard")]
    return []


def _resource_amount(name: str, text: str, path: str) -> tuple[Decimal | None, list[FieldError]]:
    amount = quantity(text, path)
    if isinstance(amount, list):
        return None, amount
    errors = nonnegative_quantity(text, path)
    if not _is_native(name) and amount % 1 != 0:
        errors.append(FieldError.invalid(path, quantity_text(text), "must be an integer"))
    return amount, errors


def validate_resources(resources: core_pb2.ResourceRequirements, path: str) -> list[FieldError]:
    """Kubernetes' ValidateResourceRequirements: names, quantities, and requests <= limits."""
    limits_path, requests_path = child(path, "limits"), child(path, "requests")
    errors: list[FieldError] = []
    limits: dict[str, Decimal] = {}
    compute = False
    huge_pages = False
    for name, limit in sorted(resources.limits.items()):
        at = key(limits_path, name)
        errors += _container_resource_name(name, at)
        amount, found = _resource_amount(name, limit.string, at)
        errors += found
        if amount is not None:
            limits[name] = amount
        compute = compute or name in ("cpu", "memory")
        huge_pages = huge_pages or _is_huge_pages(name)
    for name, request in sorted(resources.requests.items()):
        at = key(requests_path, name)
        errors += _container_resource_name(name, at)
        amount, found = _resource_amount(name, request.string, at)
        errors += found
        if name in resources.limits:
            limit_text = quantity_text(resources.limits[name].string)
            if amount is not None and name in limits:
                if amount != limits[name] and not _overcommit_allowed(name):
                    errors.append(FieldError.invalid(requests_path, quantity_text(request.string),
                                                     f"must be equal to {name} limit of {limit_text}"))
                elif amount > limits[name]:
                    errors.append(FieldError.invalid(requests_path, quantity_text(request.string),
                                                     f"must be less than or equal to {name} limit of {limit_text}"))
        elif not _overcommit_allowed(name):
            errors.append(FieldError.required(limits_path, "Limit must be set for non overcommitable resources"))
        compute = compute or name in ("cpu", "memory")
        huge_pages = huge_pages or _is_huge_pages(name)
    if huge_pages and not compute:
        errors.append(FieldError.forbidden(path, "HugePages require cpu or memory"))
    return errors


# ---------------------------------------------------------------------------------------- security


def _id_range(message: Message, field: str, path: str) -> list[FieldError]:
    if message.HasField(field):
        value = getattr(message, field)
        if not 0 <= value <= MAX_INT32:
            return [FieldError.invalid(path, value, names.inclusive_range_error(0, MAX_INT32))]
    return []


def _seccomp(message: core_pb2.PodSecurityContext | core_pb2.SecurityContext, path: str) -> list[FieldError]:
    if not message.HasField("seccomp_profile"):
        return []
    profile = message.seccomp_profile
    at = child(path, "seccompProfile")
    errors = one_of(profile.type, SECCOMP_TYPES, child(at, "type"))
    if profile.type == "Localhost" and not profile.localhost_profile:
        errors.append(FieldError.required(child(at, "localhostProfile"), "must be set when seccomp type is Localhost"))
    elif profile.type != "Localhost" and profile.localhost_profile:
        errors.append(FieldError.invalid(child(at, "localhostProfile"), profile.localhost_profile,
                                         "can only be set when seccomp type is Localhost"))
    return errors


def _pod_security_context(context: core_pb2.PodSecurityContext, path: str) -> list[FieldError]:
    errors = _id_range(context, "run_as_user", child(path, "runAsUser"))
    errors += _id_range(context, "run_as_group", child(path, "runAsGroup"))
    errors += _id_range(context, "fs_group", child(path, "fsGroup"))
    for i, group in enumerate(context.supplemental_groups):
        if not 0 <= group <= MAX_INT32:
            errors.append(FieldError.invalid(index(child(path, "supplementalGroups"), i), group,
                                             names.inclusive_range_error(0, MAX_INT32)))
    errors += _seccomp(context, path)
    return errors


def _security_context(context: core_pb2.SecurityContext, path: str) -> list[FieldError]:
    errors = _id_range(context, "run_as_user", child(path, "runAsUser"))
    errors += _id_range(context, "run_as_group", child(path, "runAsGroup"))
    if context.HasField("allow_privilege_escalation") and not context.allow_privilege_escalation:
        if context.privileged:
            errors.append(FieldError.invalid(path, GoLiteral("core.SecurityContext{...}"),
                                             "cannot set `allowPrivilegeEscalation` to false and `privileged` to true"))
        if "CAP_SYS_ADMIN" in context.capabilities.add or "SYS_ADMIN" in context.capabilities.add:
            errors.append(FieldError.invalid(
                path, GoLiteral("core.SecurityContext{...}"),
                "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` CAP_SYS_ADMIN"))
    errors += _seccomp(context, path)
    return errors


# ---------------------------------------------------------------------------------------- scheduling


def validate_tolerations(tolerations: Iterable[core_pb2.Toleration], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, toleration in enumerate(tolerations):
        at = index(path, i)
        if toleration.key:
            errors += check_name(names.qualified_name, toleration.key, child(at, "key"))
        if not toleration.key and toleration.operator != "Exists":
            errors.append(FieldError.invalid(
                child(at, "operator"), toleration.operator,
                'operator must be Exists when `key` is empty, which means "match all values and all keys"'))
        if toleration.HasField("toleration_seconds") and toleration.effect != "NoExecute":
            errors.append(FieldError.invalid(child(at, "effect"), toleration.effect,
                                             "effect must be 'NoExecute' when `tolerationSeconds` is set"))
        if toleration.operator in ("Equal", ""):
            problems = names.label_value(toleration.value)
            if problems:
                errors.append(FieldError.invalid(child(at, "operator"), toleration.value, ";".join(problems)))
        elif toleration.operator == "Exists":
            if toleration.value:
                errors.append(FieldError.invalid(child(at, "operator"), _toleration_literal(toleration),
                                                 "value must be empty when `operator` is 'Exists'"))
        else:
            errors.append(FieldError.unsupported(child(at, "operator"), toleration.operator, TOLERATION_OPERATORS))
        if toleration.effect:
            errors += one_of(toleration.effect, TAINT_EFFECTS, child(at, "effect"))
    return errors


def _toleration_literal(toleration: core_pb2.Toleration) -> GoLiteral:
    seconds = (f"(*int64)({toleration.toleration_seconds})" if toleration.HasField("toleration_seconds")
               else "(*int64)(nil)")
    return GoLiteral(f"core.Toleration{{Key:{go_repr(toleration.key)}, Operator:{go_repr(toleration.operator)}, "
                     f"Value:{go_repr(toleration.value)}, Effect:{go_repr(toleration.effect)}, "
                     f"TolerationSeconds:{seconds}}}")


def validate_node_selector_term(term: core_pb2.NodeSelectorTerm, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, requirement in enumerate(term.match_expressions):
        errors += _node_selector_requirement(requirement, index(child(path, "matchExpressions"), i), label_key=True)
    for i, requirement in enumerate(term.match_fields):
        at = index(child(path, "matchFields"), i)
        if requirement.key != "metadata.name":
            errors.append(FieldError.invalid(child(at, "key"), requirement.key, "not a valid field selector key"))
        if requirement.operator not in ("In", "NotIn"):
            errors.append(FieldError.invalid(child(at, "operator"), requirement.operator,
                                             "not a valid selector operator"))
        elif len(requirement.values) != 1:
            errors.append(FieldError.required(child(at, "values"), "must be only one value when `operator` is "
                                                                   "'In' or 'NotIn' for node field selector"))
    return errors


def _node_selector_requirement(requirement: core_pb2.NodeSelectorRequirement, path: str, *,
                               label_key: bool) -> list[FieldError]:
    errors: list[FieldError] = []
    values_path = child(path, "values")
    operator = requirement.operator
    if operator in ("In", "NotIn"):
        if not requirement.values:
            errors.append(FieldError.required(values_path, "must be specified when `operator` is 'In' or 'NotIn'"))
    elif operator in ("Exists", "DoesNotExist"):
        if requirement.values:
            errors.append(FieldError.forbidden(values_path,
                                               "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"))
    elif operator in ("Gt", "Lt"):
        if len(requirement.values) != 1:
            errors.append(FieldError.required(values_path, "must be specified single value when `operator` is 'Lt' "
                                                           "or 'Gt'"))
    else:
        errors.append(FieldError.invalid(child(path, "operator"), operator, "not a valid selector operator"))
    if label_key:
        errors += check_name(names.qualified_name, requirement.key, child(path, "key"))
    return errors


def _affinity(affinity: core_pb2.Affinity, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if affinity.HasField("node_affinity"):
        node_path = child(path, "nodeAffinity")
        node = affinity.node_affinity
        if node.HasField("required_during_scheduling_ignored_during_execution"):
            required_path = child(node_path, "requiredDuringSchedulingIgnoredDuringExecution")
            terms = node.required_during_scheduling_ignored_during_execution.node_selector_terms
            if not terms:
                errors.append(FieldError.required(child(required_path, "nodeSelectorTerms"),
                                                  "must have at least one node selector term"))
            for i, term in enumerate(terms):
                errors += validate_node_selector_term(term, index(child(required_path, "nodeSelectorTerms"), i))
        for i, preferred in enumerate(node.preferred_during_scheduling_ignored_during_execution):
            at = index(child(node_path, "preferredDuringSchedulingIgnoredDuringExecution"), i)
            errors += _weight(preferred.weight, child(at, "weight"))
            errors += validate_node_selector_term(preferred.preference, child(at, "preference"))
    for field, json_name in (("pod_affinity", "podAffinity"), ("pod_anti_affinity", "podAntiAffinity")):
        if not affinity.HasField(field):
            continue
        pod_path = child(path, json_name)
        pod = getattr(affinity, field)
        required_path = child(pod_path, "requiredDuringSchedulingIgnoredDuringExecution")
        for i, term in enumerate(pod.required_during_scheduling_ignored_during_execution):
            errors += _pod_affinity_term(term, index(required_path, i))
        for i, weighted in enumerate(pod.preferred_during_scheduling_ignored_during_execution):
            at = index(child(pod_path, "preferredDuringSchedulingIgnoredDuringExecution"), i)
            errors += _weight(weighted.weight, child(at, "weight"))
            errors += _pod_affinity_term(weighted.pod_affinity_term, child(at, "podAffinityTerm"))
    return errors


def _weight(weight: int, path: str) -> list[FieldError]:
    if 1 <= weight <= 100:
        return []
    return [FieldError.invalid(path, weight, "must be in the range 1-100")]


def _pod_affinity_term(term: core_pb2.PodAffinityTerm, path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if term.HasField("label_selector"):
        errors += validate_label_selector(term.label_selector, child(path, "labelSelector"))
    if term.HasField("namespace_selector"):
        errors += validate_label_selector(term.namespace_selector, child(path, "namespaceSelector"))
    for namespace in term.namespaces:
        errors += check_name(names.dns1123_label, namespace, child(path, "namespace"))
    if not term.topology_key:
        errors.append(FieldError.required(child(path, "topologyKey"), "can not be empty"))
    else:
        errors += check_name(names.qualified_name, term.topology_key, child(path, "topologyKey"))
    return errors


def _dns_config(spec: core_pb2.PodSpec, path: str) -> list[FieldError]:
    if spec.dns_policy == "None":
        if not spec.HasField("dns_config"):
            return [FieldError.required(path, "must provide `dnsConfig` when `dnsPolicy` is None")]
        if not spec.dns_config.nameservers:
            return [FieldError.required(child(path, "nameservers"),
                                        "must provide at least one DNS nameserver when `dnsPolicy` is None")]
    if not spec.HasField("dns_config"):
        return []
    config = spec.dns_config
    errors: list[FieldError] = []
    if len(config.nameservers) > MAX_DNS_NAMESERVERS:
        errors.append(FieldError.invalid(child(path, "nameservers"), list(config.nameservers),
                                         f"must not have more than {MAX_DNS_NAMESERVERS} nameservers"))
    for i, server in enumerate(config.nameservers):
        errors += valid_ip(server, index(child(path, "nameservers"), i))
    if len(config.searches) > MAX_DNS_SEARCH_PATHS:
        errors.append(FieldError.invalid(child(path, "searches"), list(config.searches),
                                         f"must not have more than {MAX_DNS_SEARCH_PATHS} search paths"))
    for i, search in enumerate(config.searches):
        errors += check_name(names.dns1123_subdomain, search.removesuffix("."), index(child(path, "searches"), i))
    for i, option in enumerate(config.options):
        if not option.name:
            errors.append(FieldError.required(index(child(path, "options"), i), "must not be empty"))
    return errors


def _topology_spread(constraints: Iterable[core_pb2.TopologySpreadConstraint], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, constraint in enumerate(constraints):
        at = index(path, i)
        if constraint.max_skew <= 0:
            errors.append(FieldError.invalid(child(at, "maxSkew"), constraint.max_skew, "must be greater than zero"))
        if not constraint.topology_key:
            errors.append(FieldError.required(child(at, "topologyKey"), "can not be empty"))
        else:
            errors += check_name(names.qualified_name, constraint.topology_key, child(at, "topologyKey"))
        errors += one_of(constraint.when_unsatisfiable, WHEN_UNSATISFIABLE, child(at, "whenUnsatisfiable"))
        if constraint.HasField("min_domains"):
            if constraint.min_domains <= 0:
                errors.append(FieldError.invalid(child(at, "minDomains"), constraint.min_domains,
                                                 "must be greater than 0"))
            elif constraint.when_unsatisfiable != "DoNotSchedule":
                errors.append(FieldError.invalid(child(at, "minDomains"), constraint.min_domains,
                                                 "can only use minDomains if whenUnsatisfiable=DoNotSchedule, "
                                                 f"not {constraint.when_unsatisfiable}"))
        pair = (constraint.topology_key, constraint.when_unsatisfiable)
        if pair in seen:
            errors.append(FieldError.duplicate(at, f"{{{pair[0]}, {pair[1]}}}"))
        seen.add(pair)
        if constraint.HasField("label_selector"):
            errors += validate_label_selector(constraint.label_selector, child(at, "labelSelector"))
    return errors

