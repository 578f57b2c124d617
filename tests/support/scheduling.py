"""Pods and Nodes for scheduler tests, written the way a manifest would say them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from controlplane.api import codec
from controlplane.api.v1 import core_pb2

CONTROL_PLANE_TAINT = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}
READY = [{"type": "Ready", "status": "True"}]


def node(name: str, *, cpu: str = "4", memory: str = "8Gi", pods: str = "110", labels: Mapping[str, str] | None = None,
         taints: Sequence[Mapping[str, str]] = (), conditions: Sequence[Mapping[str, str]] | None = None,
         unschedulable: bool = False, extra: Mapping[str, str] | None = None) -> core_pb2.Node:
    allocatable = {"cpu": cpu, "memory": memory, "pods": pods, **(extra or {})}
    manifest: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": {"kubernetes.io/hostname": name, **(labels or {})}},
        "spec": {"taints": list(taints), "unschedulable": unschedulable},
        "status": {"capacity": allocatable, "allocatable": allocatable,
                   "conditions": list(READY if conditions is None else conditions)}}
    made = codec.decode_object(manifest)
    assert isinstance(made, core_pb2.Node)
    return made


def pod(name: str, *, namespace: str = "default", cpu: str | None = None, memory: str | None = None,
        labels: Mapping[str, str] | None = None, node_name: str = "", spec: Mapping[str, Any] | None = None,
        containers: Sequence[Mapping[str, Any]] | None = None, owner: Mapping[str, Any] | None = None,
        uid: str = "", phase: str = "", deleting: bool = False) -> core_pb2.Pod:
    requests = {k: v for k, v in (("cpu", cpu), ("memory", memory)) if v is not None}
    container: dict[str, Any] = {"name": "app", "image": "busybox"}
    if requests:
        container["resources"] = {"requests": requests}
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": dict(labels or {}),
                                "uid": uid or f"uid-{namespace}-{name}"}
    if owner is not None:
        metadata["ownerReferences"] = [{"controller": True, **owner}]
    if deleting:
        metadata["deletionTimestamp"] = "2024-01-01T00:00:00Z"
    manifest: dict[str, Any] = {
        "apiVersion": "v1", "kind": "Pod", "metadata": metadata,
        "spec": {"containers": list(containers) if containers is not None else [container], **(spec or {})}}
    if node_name:
        manifest["spec"]["nodeName"] = node_name
    if phase:
        manifest["status"] = {"phase": phase}
    made = codec.decode_object(manifest)
    assert isinstance(made, core_pb2.Pod)
    return made
