"""Per-node numbers laid out as columns (numpy arrays, one slot per node), so that a filter or a
score over thousands of nodes is a handful of array operations instead of a Python loop.

Every column has the same length (the capacity, doubled as nodes are added); slots 0..size-1 hold
the nodes. Removing a node moves the last slot into its place, in every column, so the occupied
slots stay contiguous. Components add their own columns (a pod template's static verdicts, a
spreading selector's pod counts) and read them as `table[name][:table.size]`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

_INITIAL_CAPACITY = 64


class NodeTable:
    def __init__(self, capacity: int = _INITIAL_CAPACITY) -> None:
        self.capacity = capacity
        self.size = 0
        self.names: list[str] = []
        self.facts: list[Any] = []  # the node's parsed object (NodeFacts), by slot
        self.slots: dict[str, int] = {}
        self._columns: dict[str, np.ndarray[Any, Any]] = {}
        self._fills: dict[str, Any] = {}

    def add_column(self, name: str, dtype: Any, fill: Any = 0) -> np.ndarray[Any, Any]:
        column = np.full(self.capacity, fill, dtype=dtype)
        self._columns[name] = column
        self._fills[name] = fill
        return column

    def drop_column(self, name: str) -> None:
        self._columns.pop(name, None)
        self._fills.pop(name, None)

    def has_column(self, name: str) -> bool:
        return name in self._columns

    def __getitem__(self, name: str) -> np.ndarray[Any, Any]:
        return self._columns[name]

    def view(self, name: str) -> np.ndarray[Any, Any]:
        """The occupied part of a column (a view: writes go to the table)."""
        return self._columns[name][:self.size]

    def add_slot(self, name: str, facts: Any) -> int:
        """A slot for a new node, its columns at their fill values."""
        if self.size == self.capacity:
            self._grow()
        slot = self.size
        self.size += 1
        self.names.append(name)
        self.facts.append(facts)
        self.slots[name] = slot
        for column_name, column in self._columns.items():
            column[slot] = self._fills[column_name]
        return slot

    def remove_slot(self, name: str) -> tuple[int, str | None]:
        """Free the node's slot; returns (its slot, the name of the node moved into it, if any)."""
        slot = self.slots.pop(name)
        last = self.size - 1
        moved: str | None = None
        if slot != last:
            moved = self.names[last]
            for column in self._columns.values():
                column[slot] = column[last]
            self.names[slot] = moved
            self.facts[slot] = self.facts[last]
            self.slots[moved] = slot
        self.names.pop()
        self.facts.pop()
        self.size -= 1
        return slot, moved

    def _grow(self) -> None:
        self.capacity *= 2
        for name, column in list(self._columns.items()):
            grown = np.full(self.capacity, self._fills[name], dtype=column.dtype)
            grown[:column.shape[0]] = column
            self._columns[name] = grown
