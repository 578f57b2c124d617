"""What a pod's PersistentVolumeClaims ask of a node (VolumeBinding, for claims that are bound).

Before any node is looked at, every claim must exist, not be being deleted, and be bound (its
volumeName set and its phase Bound); otherwise the pod waits with the PreFilter's message. A bound
claim's volume must exist, and a node must match the volume's required node affinity.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from controlplane.api.v1 import core_pb2
from controlplane.scheduler import messages
from controlplane.scheduler.nodeaffinity import terms_match
from controlplane.scheduler.nodefacts import NodeFacts

ClaimLookup = Callable[[str, str], core_pb2.PersistentVolumeClaim | None]  # (namespace, name)
VolumeLookup = Callable[[str], core_pb2.PersistentVolume | None]


@dataclass(frozen=True, slots=True)
class VolumeConstraints:
    prefilter: str = ""  # the whole-pod reason when a claim is missing or unbound
    missing_volume: bool = False  # a bound claim names a PersistentVolume that does not exist
    node_terms: tuple[Sequence[core_pb2.NodeSelectorTerm], ...] = ()  # each volume's required terms

    @property
    def none(self) -> bool:
        return not (self.prefilter or self.missing_volume or self.node_terms)


NO_CONSTRAINTS = VolumeConstraints()


def volume_constraints(namespace: str, claims: Sequence[str], claim_of: ClaimLookup,
                       volume_of: VolumeLookup) -> VolumeConstraints:
    missing_volume = False
    node_terms: list[Sequence[core_pb2.NodeSelectorTerm]] = []
    unbound = False
    for name in claims:
        claim = claim_of(namespace, name)
        if claim is None:
            return VolumeConstraints(prefilter=messages.claim_not_found(name))
        if claim.metadata.deletion_timestamp:
            return VolumeConstraints(prefilter=messages.claim_being_deleted(name))
        if not claim.spec.volume_name or claim.status.phase != "Bound":
            unbound = True
            continue
        volume = volume_of(claim.spec.volume_name)
        if volume is None:
            missing_volume = True
        elif volume.spec.node_affinity.HasField("required"):
            node_terms.append(volume.spec.node_affinity.required.node_selector_terms)
    if unbound:
        return VolumeConstraints(prefilter=messages.UNBOUND_IMMEDIATE_CLAIMS)
    return VolumeConstraints(missing_volume=missing_volume, node_terms=tuple(node_terms))


def volume_verdict(constraints: VolumeConstraints, node: NodeFacts) -> str | None:
    if constraints.missing_volume:
        return messages.PV_NOT_EXIST
    for terms in constraints.node_terms:
        if not terms_match(terms, node.labels, node.name):
            return messages.VOLUME_NODE_CONFLICT
    return None
