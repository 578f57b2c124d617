"""Which pods pod garbage collection deletes."""

from __future__ import annotations

from controlplane.api.v1 import core_pb2, meta_pb2
from controlplane.controllers.podgc.policy import missing_nodes, out_of_service, terminated_beyond


def pod(name: str, node: str = "", phase: str = "Running", created: str = "2026-01-01T00:00:00Z",
        deleting: bool = False) -> core_pb2.Pod:
    result = core_pb2.Pod(metadata=meta_pb2.ObjectMeta(name=name, namespace="default", creation_timestamp=created),
                          spec=core_pb2.PodSpec(node_name=node), status=core_pb2.PodStatus(phase=phase))
    if deleting:
        result.metadata.deletion_timestamp = "2026-01-01T00:10:00Z"
    return result


def test_nodes_that_bound_pods_name_but_that_are_gone() -> None:
    pods = [pod("a", "w1"), pod("b", "w2"), pod("c"), pod("d", "w3")]
    assert missing_nodes(pods, ["w1", "w2"]) == {"w3"}


def test_the_oldest_terminated_pods_beyond_the_threshold() -> None:
    pods = [pod("new", phase="Failed", created="2026-01-01T00:00:03Z"),
            pod("old", phase="Succeeded", created="2026-01-01T00:00:01Z"),
            pod("mid", phase="Failed", created="2026-01-01T00:00:02Z"),
            pod("running", created="2026-01-01T00:00:00Z")]
    assert [p.metadata.name for p in terminated_beyond(pods, 1)] == ["old", "mid"]
    assert terminated_beyond(pods, 3) == []
    assert terminated_beyond(pods, 0) == []  # 0 keeps them all


def node(name: str, ready: str, *taints: core_pb2.Taint) -> core_pb2.Node:
    return core_pb2.Node(metadata=meta_pb2.ObjectMeta(name=name), spec=core_pb2.NodeSpec(taints=list(taints)),
                         status=core_pb2.NodeStatus(conditions=[meta_pb2.Condition(type="Ready", status=ready)]))


def test_terminating_pods_of_an_out_of_service_node_that_is_not_ready() -> None:
    out = core_pb2.Taint(key="node.kubernetes.io/out-of-service", value="nodeshutdown", effect="NoExecute")
    nodes = {"down": node("down", "Unknown", out), "back": node("back", "True", out), "plain": node("plain", "Unknown")}
    pods = [pod("a", "down", deleting=True), pod("b", "down"), pod("c", "back", deleting=True),
            pod("d", "plain", deleting=True)]
    assert [p.metadata.name for p in out_of_service(pods, nodes)] == ["a"]
