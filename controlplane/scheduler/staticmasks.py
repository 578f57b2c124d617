"""Per pod template, what the node-only filters and scores say of every node, kept as columns of
the node table and brought up to date one node at a time when a node's labels, taints or
unschedulable flag change. Pods with the same `static_key` (nodeSelector, node affinity,
tolerations) share one entry, so scheduling a ReplicaSet's pods costs one pass over the nodes
for the first pod, and array lookups for the others.

Columns of an entry: `ok` (no node-only filter refuses the node), `reason` (a code for the first
refusing filter's reason, 0 when none), `preferred` (NodeAffinity's raw score), `intolerable`
(TaintToleration's raw score), `affine` (the node matches the pod's nodeSelector and required
affinity, which spreading counts by).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from controlplane.scheduler.filters import static_verdict
from controlplane.scheduler.nodeaffinity import preferred_score, required_affinity_matches
from controlplane.scheduler.nodefacts import NodeFacts
from controlplane.scheduler.nodetable import NodeTable
from controlplane.scheduler.podinfo import PodInfo
from controlplane.scheduler.taints import intolerable_prefer_no_schedule

_LIMIT = 256


PARTS = ("ok", "reason", "preferred", "intolerable", "affine")


@dataclass
class StaticEntry:
    number: int
    exemplar: PodInfo  # any pod with this static key: they all get the same verdicts
    reasons: list[tuple[str, str]] = field(default_factory=lambda: [("", "")])  # code -> (plugin, reason)
    codes: dict[tuple[str, str], int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The columns' names, made once: they are looked up for every pod scheduled.
        self.ok, self.reason, self.preferred, self.intolerable, self.affine = (self.column(part) for part in PARTS)

    def column(self, part: str) -> str:
        return f"static{self.number}.{part}"

    def code(self, verdict: tuple[str, str]) -> int:
        found = self.codes.get(verdict)
        if found is None:
            found = len(self.reasons)
            self.reasons.append(verdict)
            self.codes[verdict] = found
        return found


class StaticMasks:
    def __init__(self, table: NodeTable, limit: int = _LIMIT) -> None:
        self.table = table
        self.limit = limit
        self._entries: OrderedDict[bytes, StaticEntry] = OrderedDict()
        self._numbers = 0

    def __len__(self) -> int:
        return len(self._entries)

    def entry(self, pod: PodInfo) -> StaticEntry:
        found = self._entries.get(pod.static_key)
        if found is not None:
            self._entries.move_to_end(pod.static_key)
            return found
        self._numbers += 1
        entry = StaticEntry(self._numbers, pod)
        self.table.add_column(entry.ok, np.bool_, False)
        self.table.add_column(entry.reason, np.int16, 0)
        self.table.add_column(entry.preferred, np.int64, 0)
        self.table.add_column(entry.intolerable, np.int64, 0)
        self.table.add_column(entry.affine, np.bool_, False)
        for slot in range(self.table.size):
            self._evaluate(entry, slot)
        self._entries[pod.static_key] = entry
        while len(self._entries) > self.limit:
            _, evicted = self._entries.popitem(last=False)
            for part in PARTS:
                self.table.drop_column(evicted.column(part))
        return entry

    def refresh(self, slot: int) -> None:
        """The node in `slot` is new or its labels, taints or schedulability changed."""
        for entry in self._entries.values():
            self._evaluate(entry, slot)

    def _evaluate(self, entry: StaticEntry, slot: int) -> None:
        pod, table = entry.exemplar, self.table
        node: NodeFacts = table.facts[slot]
        verdict = static_verdict(pod, node)
        table[entry.ok][slot] = verdict is None
        table[entry.reason][slot] = 0 if verdict is None else entry.code(verdict)
        preferred = pod.spec.affinity.node_affinity.preferred_during_scheduling_ignored_during_execution
        table[entry.preferred][slot] = preferred_score(preferred, node.labels, node.name) if preferred else 0
        table[entry.intolerable][slot] = intolerable_prefer_no_schedule(node.taints, pod.tolerations)
        table[entry.affine][slot] = required_affinity_matches(pod.spec, node.labels, node.name)
