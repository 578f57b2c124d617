"""Admission checks that need to look at other objects: namespace lifecycle and referenced config.

Kubernetes lets a pod reference a ConfigMap or Secret that does not exist yet and leaves the pod
stuck in CreateContainerConfigError. kubelab refuses such a write up front instead (story S7: "a
missing referenced ConfigMap gets a one-line error naming the field and nothing is stored"); a
reference marked `optional: true` is never checked. `klctl apply` orders a file's documents so
that ConfigMaps and Secrets are created before the workloads that use them.
"""

from __future__ import annotations

from collections.abc import Iterator

from google.protobuf.message import Message

from controlplane.api.v1 import apps_pb2, core_pb2


def pod_spec_of(obj: Message) -> tuple[str, core_pb2.PodSpec] | None:
    """The pod spec inside a Pod or a workload's template, with its field path."""
    if isinstance(obj, core_pb2.Pod):
        return "spec", obj.spec
    if isinstance(obj, apps_pb2.Deployment | apps_pb2.ReplicaSet | apps_pb2.StatefulSet):
        return "spec.template.spec", obj.spec.template.spec
    return None


def _references(path: str, spec: core_pb2.PodSpec) -> Iterator[tuple[str, str, str]]:
    """(field path, kind, name) of every non-optional ConfigMap/Secret a pod spec needs."""
    groups = (("initContainers", spec.init_containers), ("containers", spec.containers))
    for group, containers in groups:
        for ci, container in enumerate(containers):
            base = f"{path}.{group}[{ci}]"
            for ei, source in enumerate(container.env_from):
                if source.HasField("config_map_ref") and not source.config_map_ref.optional:
                    yield f"{base}.envFrom[{ei}].configMapRef.name", "ConfigMap", source.config_map_ref.name
                if source.HasField("secret_ref") and not source.secret_ref.optional:
                    yield f"{base}.envFrom[{ei}].secretRef.name", "Secret", source.secret_ref.name
            for ei, env in enumerate(container.env):
                ref = env.value_from
                if ref.HasField("config_map_key_ref") and not ref.config_map_key_ref.optional:
                    yield (f"{base}.env[{ei}].valueFrom.configMapKeyRef.name", "ConfigMap",
                           ref.config_map_key_ref.name)
                if ref.HasField("secret_key_ref") and not ref.secret_key_ref.optional:
                    yield f"{base}.env[{ei}].valueFrom.secretKeyRef.name", "Secret", ref.secret_key_ref.name
    for vi, volume in enumerate(spec.volumes):
        if volume.HasField("config_map") and not volume.config_map.optional:
            yield f"{path}.volumes[{vi}].configMap.name", "ConfigMap", volume.config_map.name
        if volume.HasField("secret") and not volume.secret.optional:
            yield f"{path}.volumes[{vi}].secret.secretName", "Secret", volume.secret.secret_name


def required_references(obj: Message) -> list[tuple[str, str, str]]:
    """(field path, kind, name) of every ConfigMap/Secret that `obj`'s pods cannot start without."""
    found = pod_spec_of(obj)
    if found is None:
        return []
    return [ref for ref in _references(*found) if ref[2]]
