"""Informer indexes more than one controller asks for, defined once so they agree."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from controlplane.client.informer import Informer

POD_NODE_INDEX = "spec.nodeName"
POD_LABEL_INDEX = "metadata.labels"


def pods_by_node(pod: Any) -> list[str]:
    """Index a pod by the node it is bound to (unbound pods are not indexed)."""
    return [pod.spec.node_name] if pod.spec.node_name else []


def pods_by_label(pod: Any) -> list[str]:
    """Index a pod by each of its labels, as `namespace/key=value`."""
    namespace = pod.metadata.namespace
    return [f"{namespace}/{key}={value}" for key, value in pod.metadata.labels.items()]


def candidates_for_selector(pods: Informer, namespace: str, selector: Mapping[str, str]) -> list[Any]:
    """The pods of `namespace` that carry at least the rarest pair of a Service's map selector: a
    superset of the pods it selects (callers still match the whole selector), found without looking
    at every pod of the namespace. `pods` must have the POD_LABEL_INDEX; an empty selector selects
    nothing."""
    best: list[Any] | None = None
    for key, value in selector.items():
        bucket = pods.by_index(POD_LABEL_INDEX, f"{namespace}/{key}={value}")
        if best is None or len(bucket) < len(best):
            best = bucket
        if not best:
            break
    return best or []
