"""The Ready decision of the node lifecycle controller, and what a silent node's conditions become."""

from __future__ import annotations

import pytest

from controlplane.api.v1 import meta_pb2
from controlplane.controllers.nodelifecycle.health import (
    Liveness,
    Verdict,
    WitnessVerdict,
    judge,
    mark_unknown,
)

DEAD, ALIVE = Verdict.DEAD, Verdict.ALIVE
R, S, D = Liveness.RESPONSIVE, Liveness.SILENT, Liveness.CONFIRMED_DEAD


@pytest.mark.parametrize(("heartbeat_age", "lease_age", "grace", "witness", "expected"), [
    # the lease rule: either signal fresh keeps the node
    (3, 2, 40, None, R),
    (100, 2, 40, None, R),  # status posted rarely, lease renewed often
    (2, 100, 40, None, R),
    (41, 45, 40, None, S),
    (40, None, 40, None, R),  # exactly the grace period is not past it
    (40.5, None, 40, None, S),  # no lease at all: the Ready heartbeat alone
    (59, None, 60, None, R),  # a node that never posted, within its startup grace
    # the second witness: dead means at once, unless heard from since
    (5, 5, 40, WitnessVerdict(DEAD, 2), D),
    (5, 1, 40, WitnessVerdict(DEAD, 2), R),  # lease renewed after the verdict: an agent back from the dead
    (50, 50, 40, WitnessVerdict(DEAD, 60), S),  # an old verdict, silent anyway: the lease rule says so
    # alive for its peers but silent to the master: the lease rule alone decides
    (5, 5, 40, WitnessVerdict(ALIVE, 1), R),
    (60, 60, 40, WitnessVerdict(ALIVE, 1), S),
])
def test_ready_decision(heartbeat_age: float, lease_age: float | None, grace: float,
                        witness: WitnessVerdict | None, expected: Liveness) -> None:
    assert judge(heartbeat_age=heartbeat_age, lease_age=lease_age, grace=grace, witness=witness) is expected


def _condition(kind: str, status: str) -> meta_pb2.Condition:
    return meta_pb2.Condition(type=kind, status=status, reason="KubeletReady", message="kubelet says",
                              last_heartbeat_time="2026-01-01T00:00:00Z", last_transition_time="2025-12-31T00:00:00Z")


def test_a_silent_nodes_agent_conditions_turn_unknown_and_keep_their_heartbeat() -> None:
    before = [_condition("Ready", "True"), _condition("MemoryPressure", "False"), _condition("DiskPressure", "False"),
              _condition("PIDPressure", "False"), _condition("NetworkUnavailable", "False")]
    after = {c.type: c for c in mark_unknown(before, "2026-01-01T00:01:00Z", "2025-01-01T00:00:00Z")}
    for kind in ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure"):
        assert (after[kind].status, after[kind].reason, after[kind].message) == (
            "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
        assert after[kind].last_transition_time == "2026-01-01T00:01:00Z"
        assert after[kind].last_heartbeat_time == "2026-01-01T00:00:00Z"
    assert after["NetworkUnavailable"].status == "False"  # the control plane's, not the agent's
    assert before[0].status == "True"  # the input is left as it was


def test_a_condition_already_unknown_keeps_its_transition_time() -> None:
    already = meta_pb2.Condition(type="Ready", status="Unknown", reason="NodeStatusUnknown",
                                 last_transition_time="2026-01-01T00:00:30Z")
    after = {c.type: c for c in mark_unknown([already], "2026-01-01T00:01:00Z", "2025-01-01T00:00:00Z")}
    assert after["Ready"].last_transition_time == "2026-01-01T00:00:30Z"


def test_conditions_never_posted_are_added_as_never_updated() -> None:
    after = {c.type: c for c in mark_unknown([], "2026-01-01T00:01:00Z", "2025-01-01T00:00:00Z")}
    assert set(after) == {"Ready", "MemoryPressure", "DiskPressure", "PIDPressure"}
    assert (after["Ready"].status, after["Ready"].reason, after["Ready"].message) == (
        "Unknown", "NodeStatusNeverUpdated", "Kubelet never posted node status.")
    assert after["Ready"].last_heartbeat_time == "2025-01-01T00:00:00Z"
