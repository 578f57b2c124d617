"""What the scheduler needs to know about a pod, read once per version of the pod: its requests,
host ports, tolerations, volumes' claims, priority, owner, and the `static_key` that names
everything the node-only filters (unschedulable, taints, affinity) and the node-only scores
(preferred affinity, PreferNoSchedule taints) depend on, so pods made from one template share
their per-node verdicts."""

from __future__ import annotations

from dataclasses import dataclass

from controlplane.api.v1 import core_pb2
from controlplane.scheduler.nodeaffinity import required_node_names
from controlplane.scheduler.resources import Resources, pod_requests
from controlplane.scheduler.taints import Toleration

ALL_ADDRESSES = "0.0.0.0"
TERMINAL_PHASES = ("Succeeded", "Failed")


@dataclass(frozen=True, slots=True)
class HostPort:
    ip: str
    protocol: str
    port: int

    @classmethod
    def of(cls, port: core_pb2.ContainerPort) -> HostPort:
        return cls(port.host_ip or ALL_ADDRESSES, port.protocol or "TCP", port.host_port)


@dataclass(frozen=True, slots=True)
class Owner:
    api_version: str
    kind: str
    name: str
    uid: str


@dataclass(frozen=True, slots=True)
class PodInfo:
    key: str  # namespace/name
    namespace: str
    name: str
    uid: str
    pod: core_pb2.Pod
    labels: dict[str, str]
    requests: Resources
    non_zero: Resources  # cpu and memory as scoring counts them
    host_ports: tuple[HostPort, ...]
    tolerations: tuple[Toleration, ...]
    claims: tuple[str, ...]  # persistentVolumeClaim names of its volumes
    priority: int
    owner: Owner | None  # the controller among its ownerReferences
    terminating: bool
    node_name: str
    static_key: bytes
    # NodeAffinity's PreFilter: the only node names its required affinity can match (None: any).
    required_names: frozenset[str] | None

    @property
    def spec(self) -> core_pb2.PodSpec:
        return self.pod.spec

    @property
    def finished(self) -> bool:
        return self.pod.status.phase in TERMINAL_PHASES

    def same_for_scheduling(self, other: PodInfo) -> bool:
        """Everything but status and resourceVersion is the same (a status write, say)."""
        return (self.uid == other.uid and self.node_name == other.node_name and self.labels == other.labels
                and self.terminating == other.terminating and self.finished == other.finished
                and self.pod.spec == other.pod.spec)


def _static_key(spec: core_pb2.PodSpec) -> bytes:
    part = core_pb2.PodSpec()
    part.node_selector.update(spec.node_selector)
    if spec.affinity.HasField("node_affinity"):
        part.affinity.node_affinity.CopyFrom(spec.affinity.node_affinity)
    part.tolerations.extend(spec.tolerations)
    return part.SerializeToString(deterministic=True)


def _owner(pod: core_pb2.Pod) -> Owner | None:
    for reference in pod.metadata.owner_references:
        if reference.HasField("controller") and reference.controller:
            return Owner(reference.api_version, reference.kind, reference.name, reference.uid)
    return None


def pod_info(pod: core_pb2.Pod, previous: PodInfo | None = None) -> PodInfo:
    """The pod's PodInfo; what a previous version computed is reused when only its status changed."""
    meta, spec = pod.metadata, pod.spec
    terminating = bool(meta.deletion_timestamp)
    labels = dict(meta.labels)
    if (previous is not None and previous.uid == meta.uid and previous.terminating == terminating
            and previous.labels == labels and previous.pod.spec == spec):
        return PodInfo(previous.key, previous.namespace, previous.name, previous.uid, pod, previous.labels,
                       previous.requests, previous.non_zero, previous.host_ports, previous.tolerations,
                       previous.claims, previous.priority, previous.owner, terminating, spec.node_name,
                       previous.static_key, previous.required_names)
    ports = tuple(HostPort.of(port) for container in (*spec.init_containers, *spec.containers)
                  for port in container.ports if port.host_port > 0)
    claims = tuple(volume.persistent_volume_claim.claim_name for volume in spec.volumes
                   if volume.HasField("persistent_volume_claim"))
    return PodInfo(
        key=f"{meta.namespace}/{meta.name}", namespace=meta.namespace, name=meta.name, uid=meta.uid, pod=pod,
        labels=labels, requests=pod_requests(spec), non_zero=pod_requests(spec, non_zero=True),
        host_ports=ports, tolerations=tuple(Toleration.of(t) for t in spec.tolerations), claims=claims,
        priority=spec.priority if spec.HasField("priority") else 0, owner=_owner(pod), terminating=terminating,
        node_name=spec.node_name, static_key=_static_key(spec), required_names=required_node_names(spec))
