"""Which pods the pod garbage collector deletes. Pure.

- Orphans: pods bound to a node that no longer exists (after a quarantine, and a check with the
  API server that the node really is gone).
- Terminated pods (Succeeded or Failed) beyond `--terminated-pod-gc-threshold`, oldest first.
- Pods already Terminating on a node that is not Ready and carries the
  node.kubernetes.io/out-of-service taint (an administrator's word that the node is down for good).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from controlplane.api import taints
from controlplane.api.timestamps import epoch

TERMINAL_PHASES = ("Succeeded", "Failed")


def missing_nodes(pods: Iterable[Any], nodes: Iterable[str]) -> set[str]:
    """Names of nodes that bound pods point at and that are not known."""
    known = set(nodes)
    return {pod.spec.node_name for pod in pods if pod.spec.node_name and pod.spec.node_name not in known}


def terminated_beyond(pods: Iterable[Any], threshold: int) -> list[Any]:
    """The oldest terminated pods past the threshold (none when the threshold is 0)."""
    if threshold <= 0:
        return []
    done = [pod for pod in pods if pod.status.phase in TERMINAL_PHASES]
    if len(done) <= threshold:
        return []
    done.sort(key=lambda pod: (epoch(pod.metadata.creation_timestamp) or 0.0, pod.metadata.name))
    return done[:len(done) - threshold]


def out_of_service(pods: Iterable[Any], nodes: Mapping[str, Any]) -> list[Any]:
    """Terminating pods on nodes that are not Ready and tainted out-of-service."""
    found = []
    for pod in pods:
        node = nodes.get(pod.spec.node_name) if pod.spec.node_name else None
        if node is None or not pod.metadata.deletion_timestamp:
            continue
        ready = next((c.status for c in node.status.conditions if c.type == "Ready"), "")
        out = any(t.key == taints.OUT_OF_SERVICE and t.effect in (taints.NO_EXECUTE, taints.NO_SCHEDULE)
                  for t in node.spec.taints)
        if ready != "True" and out:
            found.append(pod)
    return found
