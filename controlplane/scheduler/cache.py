"""The scheduler's picture of the cluster: every node, and every pod that runs or will run on one,
with per-node totals kept incrementally (requested resources, non-zero requests for scoring,
pod count, host ports in use, pods per spreading selector), in the node table's columns.

Pods come from the watch; a pod the scheduler has just chosen a node for is "assumed" there at once
(counted as if bound), so that the next decisions, taken before the binding is written and seen
back, do not give the same room twice. The watch confirms it (the pod arrives bound) or the
binding fails and the scheduler forgets it. A pod bound to a node the cache does not know (yet,
or any more) is kept on a node without a slot, and counts from the moment the node appears.
Finished pods (Succeeded, Failed) free their room, as kube-scheduler's cache does.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from controlplane.api.v1 import core_pb2
from controlplane.scheduler.nodefacts import HOSTNAME_LABEL, ZONE_LABEL, NodeFacts
from controlplane.scheduler.nodetable import NodeTable
from controlplane.scheduler.podinfo import ALL_ADDRESSES, HostPort, PodInfo
from controlplane.scheduler.resources import Resources
from controlplane.scheduler.spreadindex import SpreadIndex
from controlplane.scheduler.staticmasks import StaticMasks

# Columns of the node table the cache keeps: allocatable, the totals of the pods on each node, and
# the room left (allocatable - requested), which the filters compare requests with.
ALLOCATABLE_COLUMNS = ("alloc_cpu", "alloc_memory", "alloc_ephemeral", "alloc_pods")
TOTAL_COLUMNS = ("req_cpu", "req_memory", "req_ephemeral", "pod_count", "nz_cpu", "nz_memory")
FREE_COLUMNS = ("free_cpu", "free_memory", "free_ephemeral", "free_pods")


@dataclass(frozen=True, slots=True)
class NodeChange:
    """What changed in a node, for deciding which waiting pods may now fit."""

    added: bool = False
    labels: bool = False
    taints: bool = False  # including the taints its conditions imply
    unschedulable: bool = False
    allocatable: bool = False

    @property
    def any(self) -> bool:
        return self.added or self.labels or self.taints or self.unschedulable or self.allocatable


@dataclass
class NodeState:
    name: str
    facts: NodeFacts | None = None
    slot: int = -1
    pods: dict[str, PodInfo] = field(default_factory=dict)
    requested: Resources = field(default_factory=Resources)
    non_zero_cpu: int = 0
    non_zero_memory: int = 0
    ports: Counter[HostPort] = field(default_factory=Counter)


def _negated(resources: Resources) -> Resources:
    return Resources(-resources.cpu, -resources.memory, -resources.ephemeral_storage,
                     {name: -count for name, count in resources.scalars.items()})


class SchedulerCache:
    def __init__(self) -> None:
        self.table = NodeTable()
        for name in (*ALLOCATABLE_COLUMNS, *TOTAL_COLUMNS, *FREE_COLUMNS):
            self.table.add_column(name, np.int64, 0)
        self.table.add_column("has_hostname", np.bool_, False)
        self.table.add_column("zone", np.int32, -1)
        self.static = StaticMasks(self.table)
        self.spread = SpreadIndex(self.table, self._placed)
        self.nodes: dict[str, NodeState] = {}
        self.pods: dict[str, PodInfo] = {}  # every counted pod, by key
        self.node_of: dict[str, str] = {}  # the node each counted pod is counted on
        self._by_namespace: dict[str, dict[str, PodInfo]] = {}
        self.assumed: dict[str, str] = {}  # key -> node
        self.zones: dict[str, int] = {}
        # (protocol, port) -> node name -> addresses in use, with how many pods use each
        self._port_users: dict[tuple[str, int], dict[str, Counter[str]]] = {}

    # ------------------------------------------------------------------------------------- reading

    @property
    def node_count(self) -> int:
        return self.table.size

    def node_state(self, name: str) -> NodeState | None:
        return self.nodes.get(name)

    def is_assumed(self, key: str) -> bool:
        return key in self.assumed

    def requested_on(self, slot: int) -> tuple[Resources, int]:
        """(requested resources, pod count) of the node in `slot`."""
        state = self.nodes[self.table.names[slot]]
        return state.requested, len(state.pods)

    def ports_on(self, slot: int) -> Counter[HostPort]:
        return self.nodes[self.table.names[slot]].ports

    def port_conflicts(self, wanted: Sequence[HostPort]) -> np.ndarray:  # type: ignore[type-arg]
        """For each slot, whether one of the `wanted` host ports is taken there (see filters.port_conflicts)."""
        mask = np.zeros(self.table.size, dtype=np.bool_)
        for port in wanted:
            for name, addresses in self._port_users.get((port.protocol, port.port), {}).items():
                slot = self.table.slots.get(name)
                if slot is not None and (port.ip == ALL_ADDRESSES or addresses[port.ip] > 0
                                         or addresses[ALL_ADDRESSES] > 0):
                    mask[slot] = True
        return mask

    def _placed(self, namespace: str) -> Iterator[tuple[int, PodInfo]]:
        for key, info in self._by_namespace.get(namespace, {}).items():
            slot = self.table.slots.get(self.node_of[key])
            if slot is not None:
                yield slot, info

    # ------------------------------------------------------------------------------------- nodes

    def set_node(self, node: core_pb2.Node) -> NodeChange:
        facts = NodeFacts.of(node)
        state = self.nodes.get(facts.name)
        if state is None:
            state = self.nodes[facts.name] = NodeState(facts.name)
        if state.slot < 0:
            state.facts = facts
            state.slot = self.table.add_slot(facts.name, facts)
            self._write_allocatable(state.slot, facts)
            self._write_topology(state.slot, facts)
            self._write_totals(state)
            for info in state.pods.values():
                self.spread.count(info, state.slot, +1)
            self.static.refresh(state.slot)
            return NodeChange(added=True)
        old = state.facts
        assert old is not None
        state.facts = facts
        self.table.facts[state.slot] = facts
        change = NodeChange(labels=old.labels != facts.labels, taints=old.taints != facts.taints,
                            unschedulable=old.unschedulable != facts.unschedulable,
                            allocatable=old.allocatable != facts.allocatable)
        if change.allocatable:
            self._write_allocatable(state.slot, facts)
        if change.labels:
            self._write_topology(state.slot, facts)
        if change.labels or change.taints or change.unschedulable:
            self.static.refresh(state.slot)
        return change

    def remove_node(self, name: str) -> None:
        state = self.nodes.get(name)
        if state is None or state.slot < 0:
            return
        _, moved = self.table.remove_slot(name)
        if moved is not None:
            self.nodes[moved].slot = self.table.slots[moved]
        state.slot = -1
        state.facts = None
        if not state.pods:
            del self.nodes[name]

    def _write_allocatable(self, slot: int, facts: NodeFacts) -> None:
        table, offered = self.table, facts.allocatable
        table["alloc_cpu"][slot] = offered.resources.cpu
        table["alloc_memory"][slot] = offered.resources.memory
        table["alloc_ephemeral"][slot] = offered.resources.ephemeral_storage
        table["alloc_pods"][slot] = offered.pods
        self._write_free(slot)

    def _write_free(self, slot: int) -> None:
        table = self.table
        table["free_cpu"][slot] = table["alloc_cpu"][slot] - table["req_cpu"][slot]
        table["free_memory"][slot] = table["alloc_memory"][slot] - table["req_memory"][slot]
        table["free_ephemeral"][slot] = table["alloc_ephemeral"][slot] - table["req_ephemeral"][slot]
        table["free_pods"][slot] = table["alloc_pods"][slot] - table["pod_count"][slot]

    def _write_topology(self, slot: int, facts: NodeFacts) -> None:
        self.table["has_hostname"][slot] = HOSTNAME_LABEL in facts.labels
        zone = facts.labels.get(ZONE_LABEL)
        self.table["zone"][slot] = -1 if zone is None else self.zones.setdefault(zone, len(self.zones))

    def _write_totals(self, state: NodeState) -> None:
        table, slot = self.table, state.slot
        table["req_cpu"][slot] = state.requested.cpu
        table["req_memory"][slot] = state.requested.memory
        table["req_ephemeral"][slot] = state.requested.ephemeral_storage
        table["pod_count"][slot] = len(state.pods)
        table["nz_cpu"][slot] = state.non_zero_cpu
        table["nz_memory"][slot] = state.non_zero_memory
        self._write_free(slot)

    # ------------------------------------------------------------------------------------- pods

    def set_pod(self, info: PodInfo, node: str = "") -> bool:
        """Count a pod on `node` (by default the one it is bound to; it must not be finished), replacing
        what was counted for its key. True when the totals changed (False for a status-only change)."""
        key, node = info.key, node or info.node_name
        previous = self.pods.get(key)
        self.assumed.pop(key, None)
        if previous is not None:
            counted_on = self.node_of[key]
            if (counted_on == node and previous.uid == info.uid
                    and previous.requests == info.requests and previous.non_zero == info.non_zero
                    and previous.host_ports == info.host_ports and previous.labels == info.labels
                    and previous.terminating == info.terminating):
                self._replace(info, node)
                return False
            self._count(previous, counted_on, -1)
        self._count(info, node, +1)
        return True

    def remove_pod(self, key: str) -> PodInfo | None:
        """Stop counting the pod (deleted, finished, or an assumption forgotten); what was counted."""
        self.assumed.pop(key, None)
        previous = self.pods.get(key)
        if previous is not None:
            self._count(previous, self.node_of[key], -1)
        return previous

    def assume(self, info: PodInfo, node: str) -> None:
        """Count the pod on `node` now, before its binding is written."""
        self.set_pod(info, node)
        self.assumed[info.key] = node

    def forget(self, key: str) -> None:
        """The binding of an assumed pod failed: it no longer counts anywhere."""
        if key in self.assumed:
            self.remove_pod(key)

    def _replace(self, info: PodInfo, node: str) -> None:
        self.pods[info.key] = info
        self._by_namespace[info.namespace][info.key] = info
        self.nodes[node].pods[info.key] = info

    def _count(self, info: PodInfo, name: str, sign: int) -> None:
        key = info.key
        state = self.nodes.get(name)
        if state is None:
            state = self.nodes[name] = NodeState(name)
        if sign > 0:
            self.pods[key] = info
            self.node_of[key] = name
            self._by_namespace.setdefault(info.namespace, {})[key] = info
            state.pods[key] = info
            state.requested = state.requested.plus(info.requests)
        else:
            del self.pods[key]
            del self.node_of[key]
            namespace = self._by_namespace[info.namespace]
            del namespace[key]
            if not namespace:
                del self._by_namespace[info.namespace]
            del state.pods[key]
            state.requested = state.requested.plus(_negated(info.requests))
        state.non_zero_cpu += sign * info.non_zero.cpu
        state.non_zero_memory += sign * info.non_zero.memory
        for port in info.host_ports:
            self._count_port(state, port, sign)
        if state.slot >= 0:
            self._write_totals(state)
            self.spread.count(info, state.slot, sign)
        elif not state.pods and state.facts is None:
            del self.nodes[name]

    def _count_port(self, state: NodeState, port: HostPort, sign: int) -> None:
        state.ports[port] += sign
        users = self._port_users.setdefault((port.protocol, port.port), {})
        addresses = users.setdefault(state.name, Counter())
        addresses[port.ip] += sign
        if state.ports[port] <= 0:
            del state.ports[port]
        if addresses[port.ip] <= 0:
            del addresses[port.ip]
            if not addresses:
                del users[state.name]
                if not users:
                    del self._port_users[(port.protocol, port.port)]
