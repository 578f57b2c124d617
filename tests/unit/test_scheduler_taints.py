"""Taints and tolerations as Kubernetes matches them, and the taints a node's conditions imply."""

from __future__ import annotations

import pytest

from controlplane.api.taints import Taint
from controlplane.scheduler.taints import (
    Toleration,
    effective_taints,
    first_untolerated,
    intolerable_prefer_no_schedule,
)
from tests.support.scheduling import CONTROL_PLANE_TAINT, node

MASTER = Taint("node-role.kubernetes.io/control-plane", "", "NoSchedule")
GPU = Taint("gpu", "true", "NoSchedule")


@pytest.mark.parametrize(("toleration", "taint", "tolerates"), [
    (Toleration("gpu", "Equal", "true", "NoSchedule"), GPU, True),
    (Toleration("gpu", "", "true", "NoSchedule"), GPU, True),  # empty operator is Equal
    (Toleration("gpu", "Equal", "false", "NoSchedule"), GPU, False),
    (Toleration("gpu", "Exists", "", "NoSchedule"), GPU, True),
    (Toleration("gpu", "Exists", "", ""), GPU, True),  # no effect: every effect
    (Toleration("gpu", "Exists", "", "NoExecute"), GPU, False),
    (Toleration("", "Exists", "", ""), GPU, True),  # empty key with Exists tolerates everything
    (Toleration("", "Exists", "", "NoExecute"), GPU, False),
    (Toleration("other", "Exists", "", ""), GPU, False),
    (Toleration("node-role.kubernetes.io/control-plane", "Exists", "", "NoSchedule"), MASTER, True),
    (Toleration("node-role.kubernetes.io/control-plane", "Equal", "", "NoSchedule"), MASTER, True),
    (Toleration("gpu", "Greater", "true", ""), GPU, False),
])
def test_toleration_matching(toleration: Toleration, taint: Taint, tolerates: bool) -> None:
    assert toleration.tolerates(taint) is tolerates


def test_first_untolerated_skips_prefer_no_schedule_and_keeps_the_nodes_order() -> None:
    soft = Taint("soft", "", "PreferNoSchedule")
    evict = Taint("evict", "now", "NoExecute")
    assert first_untolerated([soft, MASTER, evict], []) == MASTER
    assert first_untolerated([soft, MASTER, evict], [Toleration("node-role.kubernetes.io/control-plane",
                                                                "Exists", "", "")]) == evict
    assert first_untolerated([soft], []) is None


@pytest.mark.parametrize(("tolerations", "count"), [
    ([], 2),
    ([Toleration("a", "Exists", "", "PreferNoSchedule")], 1),
    ([Toleration("a", "Exists", "", "")], 1),
    ([Toleration("a", "Exists", "", "NoSchedule")], 2),  # a NoSchedule toleration does not count
    ([Toleration("", "Exists", "", "")], 0),
])
def test_prefer_no_schedule_taints_not_tolerated_are_counted(tolerations: list[Toleration], count: int) -> None:
    taints = [Taint("a", "1", "PreferNoSchedule"), Taint("b", "", "PreferNoSchedule"), MASTER]
    assert intolerable_prefer_no_schedule(taints, tolerations) == count


@pytest.mark.parametrize(("conditions", "implied"), [
    ([{"type": "Ready", "status": "True"}], []),
    ([{"type": "Ready", "status": "False"}], ["node.kubernetes.io/not-ready"]),
    ([{"type": "Ready", "status": "Unknown"}], ["node.kubernetes.io/unreachable"]),
    ([], ["node.kubernetes.io/not-ready"]),  # just registered: not ready yet
    ([{"type": "Ready", "status": "True"}, {"type": "MemoryPressure", "status": "True"},
      {"type": "DiskPressure", "status": "False"}], ["node.kubernetes.io/memory-pressure"]),
])
def test_conditions_imply_the_taints_the_node_lifecycle_controller_would_set(
        conditions: list[dict[str, str]], implied: list[str]) -> None:
    taints = effective_taints(node("n", conditions=conditions, taints=[CONTROL_PLANE_TAINT]))
    assert taints == (MASTER, *(Taint(key, "", "NoSchedule") for key in implied))


def test_a_condition_taint_already_on_the_node_is_not_doubled() -> None:
    written = {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": "2024-01-01T00:00:00Z"}
    taints = effective_taints(node("n", conditions=[{"type": "Ready", "status": "Unknown"}], taints=[written]))
    assert taints == (Taint("node.kubernetes.io/unreachable", "", "NoSchedule"),)
