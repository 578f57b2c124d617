"""The taints a node's conditions call for, as Kubernetes' node lifecycle controller keeps them. Pure.

Two kinds, kept apart as in Kubernetes:
- NoSchedule, from every condition (TaintNodesByCondition): Ready False -> not-ready, Ready
  Unknown -> unreachable, MemoryPressure/DiskPressure/PIDPressure/NetworkUnavailable True -> the
  matching pressure taint, spec.unschedulable -> unschedulable. The scheduler keeps new pods away.
- NoExecute, from Ready only: False -> not-ready, Unknown -> unreachable, True -> neither. The
  taint eviction controller removes the pods that do not tolerate it (for long enough).
Only these keys are the controller's; any other taint on the node is left as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum

from controlplane.api import taints
from controlplane.api.v1 import core_pb2, meta_pb2

NOSCHEDULE_KEYS = frozenset({key for by_status in taints.CONDITION_TAINTS.values() for key in by_status.values()}
                            | {taints.UNSCHEDULABLE})
NOEXECUTE_KEYS = (taints.NOT_READY, taints.UNREACHABLE)


def noschedule_keys(conditions: Sequence[meta_pb2.Condition], unschedulable: bool) -> set[str]:
    """The NoSchedule taint keys a node with these conditions should carry."""
    implied = (taints.CONDITION_TAINTS.get(c.type, {}).get(c.status) for c in conditions)
    wanted = {key for key in implied if key is not None}
    if unschedulable:
        wanted.add(taints.UNSCHEDULABLE)
    return wanted


def with_noschedule(current: Sequence[core_pb2.Taint], wanted: set[str]) -> list[core_pb2.Taint] | None:
    """The node's taints with the managed NoSchedule ones made `wanted`; None when nothing changes."""
    have = {t.key for t in current if t.effect == taints.NO_SCHEDULE and t.key in NOSCHEDULE_KEYS}
    if have == wanted:
        return None
    kept = [t for t in current if not (t.effect == taints.NO_SCHEDULE and t.key in NOSCHEDULE_KEYS
                                       and t.key not in wanted)]
    added = [core_pb2.Taint(key=key, effect=taints.NO_SCHEDULE) for key in sorted(wanted - have)]
    return kept + added


def noexecute_key(ready: str) -> str | None:
    """The NoExecute taint key for a Ready status; None for True, and for a node that has no Ready
    condition yet (it is still within its startup grace period)."""
    return {"False": taints.NOT_READY, "Unknown": taints.UNREACHABLE}.get(ready)


class Change(Enum):
    NONE = "none"
    ADD = "add"  # a first NoExecute taint: rate limited per zone, as Kubernetes' tainting queue is
    SWAP = "swap"  # not-ready <-> unreachable: at once
    REMOVE = "remove"  # the node is Ready again: at once


def noexecute_change(current: Sequence[core_pb2.Taint], wanted: str | None) -> Change:
    have = [key for key in NOEXECUTE_KEYS if taints.has_taint(current, key, taints.NO_EXECUTE)]
    if wanted is None:
        return Change.REMOVE if have else Change.NONE
    if have == [wanted]:
        return Change.NONE
    return Change.SWAP if have else Change.ADD


def with_noexecute(current: Sequence[core_pb2.Taint], wanted: str | None, now: str) -> list[core_pb2.Taint] | None:
    """The node's taints with `wanted` (or none) as its only not-ready/unreachable NoExecute taint; a
    new taint records when it was added (the taint eviction controller counts tolerations from
    then). None when nothing changes."""
    if noexecute_change(current, wanted) is Change.NONE:
        return None
    kept = [t for t in current if not (t.effect == taints.NO_EXECUTE and t.key in NOEXECUTE_KEYS
                                       and t.key != wanted)]
    if wanted is not None and not taints.has_taint(kept, wanted, taints.NO_EXECUTE):
        kept.append(core_pb2.Taint(key=wanted, effect=taints.NO_EXECUTE, time_added=now))
    return kept
