"""Check a batch of writes against the current state and give each its event and revision. Pure.

The writes of one group commit are checked in arrival order: each sees the current state plus the
writes before it in the same batch that succeeded. A write whose precondition fails gets its error
and no revision; its neighbours are unaffected. The successful ones get consecutive revisions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from controlplane.store.interface import (
    Event,
    KeyExists,
    KeyNotFound,
    KeyValue,
    RevisionConflict,
    StoreError,
)


@dataclass(frozen=True, slots=True)
class Write:
    op: Literal["create", "update", "delete"]
    key: str
    value: bytes = b""
    expected_mod_revision: int | None = None  # update/delete: None = unconditional


def plan(writes: Sequence[Write], current: Callable[[str], KeyValue | None],
         revision: int) -> list[Event | StoreError]:
    """One outcome per write, in order: the event it produces, or why it is refused.

    `current` looks a key up in the committed state; `revision` is the newest committed revision.
    """
    changed: dict[str, KeyValue | None] = {}  # this batch's effect so far, over `current`
    outcomes: list[Event | StoreError] = []
    for write in writes:
        before = changed[write.key] if write.key in changed else current(write.key)
        outcome = _apply(write, before, revision + 1)
        if isinstance(outcome, Event):
            revision += 1
            changed[write.key] = outcome.kv if outcome.type == "PUT" else None
        outcomes.append(outcome)
    return outcomes


def _apply(write: Write, before: KeyValue | None, revision: int) -> Event | StoreError:
    if write.op == "create":
        if before is not None:
            return KeyExists(write.key)
        return Event("PUT", KeyValue(write.key, write.value, revision, revision), None)
    if before is None:
        return KeyNotFound(write.key)
    if write.expected_mod_revision is not None and write.expected_mod_revision != before.mod_revision:
        return RevisionConflict(write.key, write.expected_mod_revision, before.mod_revision)
    if write.op == "update":
        return Event("PUT", KeyValue(write.key, write.value, revision, before.create_revision), before)
    return Event("DELETE", KeyValue(write.key, before.value, revision, before.create_revision), before)
