"""Resource amounts as the scheduler counts them: a pod's effective requests and a node's allocatable.

A pod's effective request of a resource is Kubernetes' (resourcehelper.PodRequests): the sum over
its containers, plus its sidecars (init containers with restartPolicy Always, which keep running),
or the largest need of any ordinary init container (which runs alone, next to the sidecars started
before it) when that is larger. The "non-zero" variant, used only for scoring, counts a container
that does not say its cpu or memory request as asking 100m and 200Mi (kube-scheduler's defaults),
so that best-effort pods still spread.

cpu is counted in millicores, everything else in whole units (bytes, pods).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

from controlplane.api.quantity import QuantityError, milli_value, parse_quantity, value
from controlplane.api.v1 import core_pb2, meta_pb2

CPU = "cpu"
MEMORY = "memory"
EPHEMERAL_STORAGE = "ephemeral-storage"
PODS = "pods"
DEFAULT_MILLI_CPU_REQUEST = 100
DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024
_SIDECAR = "Always"


@lru_cache(maxsize=8192)
def amount(resource: str, text: str) -> int:
    """A quantity's amount in the scheduler's unit for `resource` (millicores for cpu); 0 when the
    text is not a quantity (the API server refuses those, so only a corrupt object has one)."""
    try:
        quantity = parse_quantity(text)
    except QuantityError:
        return 0
    return milli_value(quantity) if resource == CPU else value(quantity)


@dataclass(frozen=True, slots=True)
class Resources:
    cpu: int = 0  # millicores
    memory: int = 0
    ephemeral_storage: int = 0
    scalars: Mapping[str, int] = field(default_factory=dict)  # extended resources, hugepages: by name

    @classmethod
    def from_map(cls, quantities: Mapping[str, meta_pb2.Quantity]) -> Resources:
        cpu = memory = ephemeral = 0
        scalars: dict[str, int] = {}
        for name, quantity in quantities.items():
            if name == CPU:
                cpu = amount(CPU, quantity.string)
            elif name == MEMORY:
                memory = amount(MEMORY, quantity.string)
            elif name == EPHEMERAL_STORAGE:
                ephemeral = amount(EPHEMERAL_STORAGE, quantity.string)
            elif name != PODS:
                scalars[name] = amount(name, quantity.string)
        return cls(cpu, memory, ephemeral, scalars)

    def plus(self, other: Resources) -> Resources:
        scalars = dict(self.scalars)
        for name, count in other.scalars.items():
            scalars[name] = scalars.get(name, 0) + count
        return Resources(self.cpu + other.cpu, self.memory + other.memory,
                         self.ephemeral_storage + other.ephemeral_storage, scalars)

    def max(self, other: Resources) -> Resources:
        scalars = dict(self.scalars)
        for name, count in other.scalars.items():
            scalars[name] = max(scalars.get(name, 0), count)
        return Resources(max(self.cpu, other.cpu), max(self.memory, other.memory),
                         max(self.ephemeral_storage, other.ephemeral_storage), scalars)

    @property
    def is_zero(self) -> bool:
        return not (self.cpu or self.memory or self.ephemeral_storage or any(self.scalars.values()))


def _container_requests(container: core_pb2.Container, non_zero: bool) -> Resources:
    requests = Resources.from_map(container.resources.requests)
    if not non_zero:
        return requests
    given = container.resources.requests
    cpu = requests.cpu if CPU in given else DEFAULT_MILLI_CPU_REQUEST
    memory = requests.memory if MEMORY in given else DEFAULT_MEMORY_REQUEST
    return Resources(cpu, memory, requests.ephemeral_storage, requests.scalars)


def pod_requests(spec: core_pb2.PodSpec, *, non_zero: bool = False) -> Resources:
    """The pod's effective requests (see the module's docstring)."""
    total = Resources()
    for container in spec.containers:
        total = total.plus(_container_requests(container, non_zero))
    sidecars = Resources()
    init_peak = Resources()
    for container in spec.init_containers:
        requests = _container_requests(container, non_zero)
        if container.restart_policy == _SIDECAR:
            total = total.plus(requests)
            sidecars = sidecars.plus(requests)
            need = sidecars
        else:
            need = requests.plus(sidecars)
        init_peak = init_peak.max(need)
    return total.max(init_peak)


@dataclass(frozen=True, slots=True)
class Allocatable:
    """What a node offers pods (status.allocatable)."""

    resources: Resources = field(default_factory=Resources)
    pods: int = 0

    @classmethod
    def of(cls, node: core_pb2.Node) -> Allocatable:
        quantities = node.status.allocatable
        pods = amount(PODS, quantities[PODS].string) if PODS in quantities else 0
        return cls(Resources.from_map(quantities), pods)


def scalar_names(resources: Iterable[Resources]) -> set[str]:
    return {name for r in resources for name in r.scalars}
