"""What the scheduler reads of a Node object: labels, taints (with those its conditions imply),
spec.unschedulable and allocatable, parsed once per version of the node."""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.api.taints import Taint
from controlplane.api.v1 import core_pb2
from controlplane.scheduler.resources import Allocatable
from controlplane.scheduler.taints import effective_taints

HOSTNAME_LABEL = "kubernetes.io/hostname"
ZONE_LABEL = "topology.kubernetes.io/zone"


@dataclass(frozen=True, slots=True)
class NodeFacts:
    name: str
    labels: dict[str, str]
    taints: tuple[Taint, ...]
    unschedulable: bool
    allocatable: Allocatable

    @classmethod
    def of(cls, node: core_pb2.Node) -> NodeFacts:
        return cls(node.metadata.name, dict(node.metadata.labels), effective_taints(node), node.spec.unschedulable,
                   Allocatable.of(node))

    def same_placement(self, other: NodeFacts) -> bool:
        """Nothing the node-only filters and scores read has changed (labels, taints, unschedulable)."""
        return (self.labels == other.labels and self.taints == other.taints
                and self.unschedulable == other.unschedulable)
