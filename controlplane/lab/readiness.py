"""Whether the lab's Nodes are Ready, from Node objects: pure, for `up`'s wait and `status`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from controlplane.api.v1 import core_pb2


@dataclass(frozen=True, slots=True)
class NodeReadiness:
    name: str
    ready: str  # "True", "False", "Unknown", or "" when the Node is not registered
    reason: str = ""

    @property
    def is_ready(self) -> bool:
        return self.ready == "True"

    def describe(self) -> str:
        if not self.ready:
            return f"{self.name}: not registered"
        return f"{self.name}: Ready={self.ready}" + (f" ({self.reason})" if self.reason else "")


def readiness(expected: Sequence[str], nodes: Iterable[core_pb2.Node]) -> list[NodeReadiness]:
    """One entry per expected node name, in that order, from the Ready condition of its Node object."""
    by_name = {node.metadata.name: node for node in nodes}
    result = []
    for name in expected:
        node = by_name.get(name)
        if node is None:
            result.append(NodeReadiness(name, ""))
            continue
        condition = next((c for c in node.status.conditions if c.type == "Ready"), None)
        if condition is None:
            result.append(NodeReadiness(name, "Unknown", "no Ready condition yet"))
        else:
            result.append(NodeReadiness(name, condition.status or "Unknown", condition.reason))
    return result


def not_ready_summary(states: Iterable[NodeReadiness]) -> str:
    """`worker2: not registered; master: Ready=False (KubeletNotReady)`, or "" when all are Ready."""
    return "; ".join(state.describe() for state in states if not state.is_ready)
