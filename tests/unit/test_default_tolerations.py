"""DefaultTolerationSeconds admission: every pod tolerates a not-ready or unreachable node for a while."""

from __future__ import annotations

import pytest

from controlplane.api.v1 import core_pb2
from controlplane.apiserver.tolerations import DefaultTolerations, add_default_tolerations


def _tolerations(spec: core_pb2.PodSpec) -> list[tuple[str, str, str, int]]:
    return [(t.key, t.operator, t.effect, t.toleration_seconds) for t in spec.tolerations]


def test_pods_tolerate_not_ready_and_unreachable_nodes_for_five_minutes_by_default() -> None:
    spec = core_pb2.PodSpec()
    add_default_tolerations(spec, DefaultTolerations())
    assert _tolerations(spec) == [("node.kubernetes.io/not-ready", "Exists", "NoExecute", 300),
                                  ("node.kubernetes.io/unreachable", "Exists", "NoExecute", 300)]


def test_the_api_servers_flags_set_each_tolerations_seconds() -> None:
    spec = core_pb2.PodSpec()
    add_default_tolerations(spec, DefaultTolerations(not_ready_seconds=7, unreachable_seconds=5))
    assert [(t.key, t.toleration_seconds) for t in spec.tolerations] == [
        ("node.kubernetes.io/not-ready", 7), ("node.kubernetes.io/unreachable", 5)]


@pytest.mark.parametrize(("own", "added"), [
    (core_pb2.Toleration(operator="Exists"), []),
    (core_pb2.Toleration(key="node.kubernetes.io/not-ready", operator="Exists"), ["node.kubernetes.io/unreachable"]),
    (core_pb2.Toleration(key="node.kubernetes.io/unreachable", operator="Exists", effect="NoExecute",
                         toleration_seconds=10), ["node.kubernetes.io/not-ready"]),
    (core_pb2.Toleration(key="node.kubernetes.io/not-ready", operator="Exists", effect="NoSchedule"),
     ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"]),
])
def test_default_tolerations_are_not_added_when_the_pod_already_tolerates(own: core_pb2.Toleration,
                                                                          added: list[str]) -> None:
    spec = core_pb2.PodSpec(tolerations=[own])
    add_default_tolerations(spec, DefaultTolerations())
    assert [t.key for t in spec.tolerations[1:]] == added


def test_adding_twice_adds_nothing_more() -> None:
    spec = core_pb2.PodSpec()
    add_default_tolerations(spec, DefaultTolerations())
    add_default_tolerations(spec, DefaultTolerations(1, 1))
    assert len(spec.tolerations) == 2 and {t.toleration_seconds for t in spec.tolerations} == {300}
