"""The taints a node's conditions call for (TaintNodesByCondition and the NoExecute pair)."""

from __future__ import annotations

import pytest

from controlplane.api.v1 import core_pb2, meta_pb2
from controlplane.controllers.nodelifecycle.taints import (
    Change,
    noexecute_change,
    noexecute_key,
    noschedule_keys,
    with_noexecute,
    with_noschedule,
)

NR, UR = "node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"


def conditions(**statuses: str) -> list[meta_pb2.Condition]:
    return [meta_pb2.Condition(type=kind, status=status) for kind, status in statuses.items()]


def taint(key: str, effect: str, time_added: str = "") -> core_pb2.Taint:
    return core_pb2.Taint(key=key, effect=effect, time_added=time_added)


@pytest.mark.parametrize(("statuses", "unschedulable", "expected"), [
    ({"Ready": "True", "MemoryPressure": "False"}, False, set()),
    ({"Ready": "False"}, False, {NR}),
    ({"Ready": "Unknown", "MemoryPressure": "Unknown"}, False, {UR}),
    ({"Ready": "True", "MemoryPressure": "True", "DiskPressure": "True", "PIDPressure": "True",
      "NetworkUnavailable": "True"}, False,
     {"node.kubernetes.io/memory-pressure", "node.kubernetes.io/disk-pressure", "node.kubernetes.io/pid-pressure",
      "node.kubernetes.io/network-unavailable"}),
    ({"Ready": "True"}, True, {"node.kubernetes.io/unschedulable"}),
    ({}, False, set()),  # no conditions posted yet
])
def test_noschedule_taints_follow_conditions(statuses: dict[str, str], unschedulable: bool,
                                             expected: set[str]) -> None:
    assert noschedule_keys(conditions(**statuses), unschedulable) == expected


def test_noschedule_taints_change_only_the_managed_keys() -> None:
    current = [taint("node-role.kubernetes.io/control-plane", "NoSchedule"), taint(NR, "NoSchedule"),
               taint(UR, "NoExecute"), taint("dedicated", "NoSchedule")]
    updated = with_noschedule(current, {UR})
    assert updated is not None
    assert [(t.key, t.effect) for t in updated] == [
        ("node-role.kubernetes.io/control-plane", "NoSchedule"), (UR, "NoExecute"), ("dedicated", "NoSchedule"),
        (UR, "NoSchedule")]
    assert with_noschedule(updated, {UR}) is None  # already so: nothing to write


@pytest.mark.parametrize(("ready", "expected"), [("True", None), ("False", NR), ("Unknown", UR), ("", None)])
def test_noexecute_taint_from_ready(ready: str, expected: str | None) -> None:
    assert noexecute_key(ready) == expected


@pytest.mark.parametrize(("current", "wanted", "change"), [
    ([], None, Change.NONE),
    ([], UR, Change.ADD),
    ([taint(UR, "NoSchedule")], UR, Change.ADD),  # the NoSchedule twin does not count
    ([taint(UR, "NoExecute")], UR, Change.NONE),
    ([taint(NR, "NoExecute")], UR, Change.SWAP),
    ([taint(UR, "NoExecute")], NR, Change.SWAP),
    ([taint(UR, "NoExecute")], None, Change.REMOVE),
    ([taint(UR, "NoExecute"), taint(NR, "NoExecute")], UR, Change.SWAP),
])
def test_noexecute_change(current: list[core_pb2.Taint], wanted: str | None, change: Change) -> None:
    assert noexecute_change(current, wanted) is change


def test_a_new_noexecute_taint_records_when_it_was_added_and_replaces_its_opposite() -> None:
    current = [taint("dedicated", "NoExecute"), taint(NR, "NoExecute", "2026-01-01T00:00:00Z"), taint(UR, "NoSchedule")]
    updated = with_noexecute(current, UR, "2026-01-01T00:05:00Z")
    assert updated is not None
    assert [(t.key, t.effect, t.time_added) for t in updated] == [
        ("dedicated", "NoExecute", ""), (UR, "NoSchedule", ""), (UR, "NoExecute", "2026-01-01T00:05:00Z")]


def test_a_ready_node_loses_both_noexecute_taints_and_keeps_the_rest() -> None:
    current = [taint(UR, "NoExecute", "2026-01-01T00:00:00Z"), taint("dedicated", "NoExecute")]
    updated = with_noexecute(current, None, "2026-01-01T00:05:00Z")
    assert updated is not None and [(t.key, t.effect) for t in updated] == [("dedicated", "NoExecute")]
    assert with_noexecute(updated, None, "2026-01-01T00:06:00Z") is None


def test_an_existing_taint_keeps_its_time() -> None:
    current = [taint(UR, "NoExecute", "2026-01-01T00:00:00Z")]
    assert with_noexecute(current, UR, "2026-01-01T00:05:00Z") is None
