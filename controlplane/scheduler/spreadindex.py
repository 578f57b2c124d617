"""How many pods of one spreading selector each node runs, as a column of the node table, kept up to
date as pods are added to and removed from nodes (assumed ones included), so that spreading a
ReplicaSet over 5,000 nodes reads one array instead of counting pods node by node.

Counted as kube-scheduler's countPodsMatchSelector counts: pods of the same namespace whose
labels match, not being deleted.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable

import numpy as np

from controlplane.api.labels import Selector
from controlplane.scheduler.nodetable import NodeTable
from controlplane.scheduler.podinfo import PodInfo

_LIMIT = 512

# (namespace) -> (slot, pod) of every pod counted on a node that has a slot.
PlacedPods = Callable[[str], Iterable[tuple[int, PodInfo]]]


def counts_toward(selector: Selector, namespace: str, pod: PodInfo) -> bool:
    return pod.namespace == namespace and not pod.terminating and selector.matches(pod.labels)


class SpreadIndex:
    def __init__(self, table: NodeTable, placed: PlacedPods, limit: int = _LIMIT) -> None:
        self.table = table
        self.placed = placed
        self.limit = limit
        self._columns: OrderedDict[tuple[str, Selector], str] = OrderedDict()
        self._by_namespace: dict[str, set[tuple[str, Selector]]] = {}
        self._numbers = 0
        # (namespace, labels) -> the columns a pod with those labels counts in: pods of one app share
        # their labels, so each is matched against the selectors once. Cleared when selectors change.
        self._matching: dict[tuple[str, frozenset[tuple[str, str]]], list[str]] = {}

    def __len__(self) -> int:
        return len(self._columns)

    def column(self, namespace: str, selector: Selector) -> str:
        """The name of the column of counts for `selector` in `namespace` (made on first use)."""
        key = (namespace, selector)
        name = self._columns.get(key)
        if name is not None:
            self._columns.move_to_end(key)
            return name
        self._numbers += 1
        name = f"spread{self._numbers}"
        column = self.table.add_column(name, np.int64, 0)
        for slot, pod in self.placed(namespace):
            if counts_toward(selector, namespace, pod):
                column[slot] += 1
        self._columns[key] = name
        self._by_namespace.setdefault(namespace, set()).add(key)
        while len(self._columns) > self.limit:
            evicted, evicted_name = self._columns.popitem(last=False)
            self._by_namespace[evicted[0]].discard(evicted)
            self.table.drop_column(evicted_name)
        self._matching.clear()
        return name

    def count(self, pod: PodInfo, slot: int, delta: int) -> None:
        """`pod` was added to (+1) or removed from (-1) the node in `slot`."""
        if pod.terminating or pod.namespace not in self._by_namespace:
            return
        labels = (pod.namespace, frozenset(pod.labels.items()))
        columns = self._matching.get(labels)
        if columns is None:
            columns = [self._columns[key] for key in self._by_namespace[pod.namespace]
                       if counts_toward(key[1], key[0], pod)]
            if len(self._matching) > 4 * self.limit:
                self._matching.clear()
            self._matching[labels] = columns
        for name in columns:
            self.table[name][slot] += delta
