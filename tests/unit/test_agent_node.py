"""The agent's Node: capacity, conditions, flags, and routes to other nodes' pod ranges."""

import ipaddress

import pytest

from agent.config import AgentConfig, from_args
from agent.node import capacity, merge_conditions, new_node, ready_conditions, status_overwritten
from agent.routes import routes_to_others
from controlplane.api.v1 import core_pb2, meta_pb2
from controlplane.daemon import ConfigError


def test_capacity_from_flags() -> None:
    config = AgentConfig(node_name="w1", cpu_millicores=1500, memory_bytes=4 * 2**30, max_pods=20)
    assert capacity(config) == {"cpu": "1500m", "memory": f"{4 * 2**20}Ki", "pods": "20"}


def test_new_node_carries_labels_taints_and_pod_cidr() -> None:
    config = from_args(["--node-name", "master", "--node-ip", "10.240.0.10", "--pod-cidr", "10.244.0.0/24",
                        "--register-with-taints", "node-role.kubernetes.io/control-plane=:NoSchedule",
                        "--node-labels", "node-role.kubernetes.io/control-plane="])
    node = new_node(config, 10250)
    assert node.metadata.labels["kubernetes.io/hostname"] == "master"
    assert "node-role.kubernetes.io/control-plane" in node.metadata.labels
    assert [(t.key, t.value, t.effect) for t in node.spec.taints] == [
        ("node-role.kubernetes.io/control-plane", "", "NoSchedule")]
    assert node.spec.pod_cidr == "10.244.0.0/24"
    assert (node.status.addresses[0].type, node.status.addresses[0].address) == ("InternalIP", "10.240.0.10")
    assert {c.type: c.status for c in node.status.conditions}["Ready"] == "True"
    assert node.status.daemon_endpoints.kubelet_endpoint.port == 10250


def test_transition_time_is_kept_while_a_condition_holds() -> None:
    before = [meta_pb2.Condition(type="Ready", status="True", last_transition_time="2026-01-01T00:00:00Z")]
    merged = {c.type: c for c in merge_conditions(before, ready_conditions("2026-02-02T00:00:00Z"))}
    assert merged["Ready"].last_transition_time == "2026-01-01T00:00:00Z"
    assert merged["Ready"].last_heartbeat_time == "2026-02-02T00:00:00Z"
    flipped = [meta_pb2.Condition(type="Ready", status="Unknown", last_transition_time="2026-01-01T00:00:00Z")]
    assert {c.type: c for c in merge_conditions(flipped, ready_conditions("2026-02-02T00:00:00Z"))}[
        "Ready"].last_transition_time == "2026-02-02T00:00:00Z"


@pytest.mark.parametrize(("args", "message"), [
    (["--node-ip", "nope"], "--node-ip 'nope': not an IPv4 address"),
    (["--pod-cidr", "10.244.1.0/33"], "--pod-cidr"),
    (["--bridge", "a-very-long-bridge-name"], "--bridge 'a-very-long-bridge-name': interface names have 1 to 15"),
    (["--bridge", ""], "--bridge '': interface names have 1 to 15 characters"),
    (["--register-with-taints", "key:Sometimes"], "--register-with-taints 'key:Sometimes'"),
    (["--node-labels", "novalue"], "--node-labels 'novalue': expected KEY=VALUE"),
    (["--backoff-initial", "0"], "--backoff-initial must be more than 0"),
])
def test_bad_flags_are_one_line_errors(args: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        from_args(["--node-name", "w1", *args])


def _node(name: str, cidr: str, ip: str) -> core_pb2.Node:
    node = core_pb2.Node()
    node.metadata.name = name
    node.spec.pod_cidr = cidr
    if ip:
        node.status.addresses.add(type="InternalIP", address=ip)
    return node


def test_routes_go_to_every_other_node_with_a_range_and_an_address() -> None:
    nodes = [_node("master", "10.244.0.0/24", "10.240.0.10"), _node("worker1", "10.244.1.0/24", "10.240.0.11"),
             _node("worker2", "10.244.2.0/24", "10.240.0.12"), _node("new", "", "10.240.0.13"),
             _node("odd", "10.244.9.0/24", "")]
    assert routes_to_others(nodes, "worker1") == {
        ipaddress.IPv4Network("10.244.0.0/24"): "10.240.0.10", ipaddress.IPv4Network("10.244.2.0/24"): "10.240.0.12"}


@pytest.mark.parametrize(("conditions", "overwritten"), [
    ([("Ready", "True")], False),
    ([("Ready", "Unknown")], True),  # the node lifecycle controller marked it while the agent was silent
    ([("MemoryPressure", "False")], True),
    ([], True),
])
def test_the_agent_reposts_its_status_when_ready_was_overwritten(conditions: list[tuple[str, str]],
                                                                  overwritten: bool) -> None:
    node = core_pb2.Node(status=core_pb2.NodeStatus(conditions=[meta_pb2.Condition(type=t, status=s)
                                                                for t, s in conditions]))
    assert status_overwritten(node) is overwritten
