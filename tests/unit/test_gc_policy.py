"""What the garbage collector does with an object, by the state of its owners (Kubernetes' rules)."""

from __future__ import annotations

import pytest

from controlplane.controllers.garbagecollector.policy import Action, Decision, OwnerState, decide

SOLID, ABSENT, WAITING, UNRESOLVABLE = (OwnerState.SOLID, OwnerState.ABSENT, OwnerState.WAITING,
                                        OwnerState.UNRESOLVABLE)


@pytest.mark.parametrize(("owners", "finalizers", "has_dependents", "cycle", "expected"), [
    # no owner references: not the collector's business
    ([], [], False, False, Decision(Action.KEEP)),
    # an owner that exists keeps the object
    ([("a", SOLID)], [], False, False, Decision(Action.KEEP)),
    ([("a", UNRESOLVABLE)], [], False, False, Decision(Action.KEEP)),  # cannot tell: never collected
    # background: the owner went (or another object of its name has another uid)
    ([("a", ABSENT)], [], False, False, Decision(Action.DELETE, propagation="Background")),
    ([("a", ABSENT), ("b", ABSENT)], [], True, False, Decision(Action.DELETE, propagation="Background")),
    # one owner left of two: the reference to the one gone is dropped, the object stays
    ([("a", ABSENT), ("b", SOLID)], [], False, False, Decision(Action.DROP_REFERENCES, uids=("a",))),
    ([("a", WAITING), ("b", SOLID)], [], False, False, Decision(Action.DROP_REFERENCES, uids=("a",))),
    # foreground: the owner waits; a dependent with dependents of its own goes in the foreground too
    ([("a", WAITING)], [], False, False, Decision(Action.DELETE, propagation="Background")),
    ([("a", WAITING)], [], True, False, Decision(Action.DELETE, propagation="Foreground")),
    ([("a", WAITING)], [], True, True, Decision(Action.DELETE, propagation="Foreground", unblock=True)),
    ([("a", WAITING), ("b", ABSENT)], [], False, False, Decision(Action.DELETE, propagation="Background")),
    # a propagation finalizer the object already carries is honoured
    ([("a", ABSENT)], ["orphan"], True, False, Decision(Action.DELETE, propagation="Orphan")),
    ([("a", ABSENT)], ["foregroundDeletion"], True, False, Decision(Action.DELETE, propagation="Foreground")),
    ([("a", ABSENT)], ["example.com/keep"], False, False, Decision(Action.DELETE, propagation="Background")),
])
def test_decision(owners: list[tuple[str, OwnerState]], finalizers: list[str], has_dependents: bool, cycle: bool,
                  expected: Decision) -> None:
    assert decide(owners, finalizers=finalizers, has_dependents=has_dependents,
                  dependent_deleting_dependents=cycle) == expected
