"""What the garbage collector does with an object, from the state of its owners. Pure.

Kubernetes' rules (its attemptToDeleteItem), in short:
- an owner that exists with the uid the reference names is SOLID; a missing owner, or one of the
  same name with another uid, is ABSENT; an owner being deleted in the foreground (it carries the
  foregroundDeletion finalizer) is WAITING for its dependents to go; a reference the collector
  cannot resolve (unknown kind, a namespaced owner of a cluster-scoped object) is UNRESOLVABLE and
  counts as solid, so such an object is never collected;
- with at least one solid owner the object stays, and references to absent or waiting owners are
  dropped (a waiting owner must not wait on an object that another owner keeps);
- with no solid owner but a waiting one, the object goes in the foreground if it has dependents of
  its own (their owner then waits on them too), else in the background;
- with no owner left at all it goes, honouring a propagation finalizer it already carries
  (orphan, foregroundDeletion), else in the background.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

ORPHAN = "orphan"
FOREGROUND = "foregroundDeletion"


class OwnerState(Enum):
    SOLID = "solid"
    ABSENT = "absent"
    WAITING = "waiting"
    UNRESOLVABLE = "unresolvable"


class Action(Enum):
    KEEP = "keep"
    DROP_REFERENCES = "drop-references"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Decision:
    action: Action
    uids: tuple[str, ...] = ()  # the owner references to drop
    propagation: str = ""  # Background, Foreground or Orphan, for DELETE
    unblock: bool = False  # first make this object's references non-blocking (breaks a foreground cycle)


def decide(owners: Sequence[tuple[str, OwnerState]], *, finalizers: Sequence[str], has_dependents: bool,
           dependent_deleting_dependents: bool) -> Decision:
    """`owners` is (owner uid, state) per ownerReference of an object that is not being deleted."""
    solid = [uid for uid, state in owners if state in (OwnerState.SOLID, OwnerState.UNRESOLVABLE)]
    absent = [uid for uid, state in owners if state is OwnerState.ABSENT]
    waiting = [uid for uid, state in owners if state is OwnerState.WAITING]
    if not owners:
        return Decision(Action.KEEP)
    if solid:
        if absent or waiting:
            return Decision(Action.DROP_REFERENCES, uids=tuple(absent + waiting))
        return Decision(Action.KEEP)
    if waiting and has_dependents:
        return Decision(Action.DELETE, propagation="Foreground", unblock=dependent_deleting_dependents)
    if ORPHAN in finalizers:
        return Decision(Action.DELETE, propagation="Orphan")
    if FOREGROUND in finalizers:
        return Decision(Action.DELETE, propagation="Foreground")
    return Decision(Action.DELETE, propagation="Background")
