"""Node readiness as `up` waits for it and `status` shows it."""

from __future__ import annotations

from controlplane.api.v1 import core_pb2, meta_pb2
from controlplane.lab.readiness import not_ready_summary, readiness


def _node(name: str, *conditions: tuple[str, str, str]) -> core_pb2.Node:
    node = core_pb2.Node(metadata=meta_pb2.ObjectMeta(name=name))
    for type_, status, reason in conditions:
        node.status.conditions.add(type=type_, status=status, reason=reason)
    return node


def test_ready_nodes_are_those_with_ready_true() -> None:
    nodes = [_node("master", ("MemoryPressure", "False", ""), ("Ready", "True", "KubeletReady")),
             _node("worker1", ("Ready", "False", "KubeletNotReady")),
             _node("worker3"),
             _node("stranger", ("Ready", "True", ""))]
    states = readiness(["master", "worker1", "worker2", "worker3"], nodes)
    assert [(s.name, s.ready, s.is_ready) for s in states] == [
        ("master", "True", True), ("worker1", "False", False), ("worker2", "", False), ("worker3", "Unknown", False)]
    assert not_ready_summary(states) == ("worker1: Ready=False (KubeletNotReady); worker2: not registered; "
                                         "worker3: Ready=Unknown (no Ready condition yet)")


def test_all_ready_summarises_to_nothing() -> None:
    assert not_ready_summary(readiness(["master"], [_node("master", ("Ready", "True", ""))])) == ""
