"""Informer indexes more than one controller asks for, defined once so they agree."""

from __future__ import annotations

from typing import Any

POD_NODE_INDEX = "spec.nodeName"


def pods_by_node(pod: Any) -> list[str]:
    """Index a pod by the node it is bound to (unbound pods are not indexed)."""
    return [pod.spec.node_name] if pod.spec.node_name else []
