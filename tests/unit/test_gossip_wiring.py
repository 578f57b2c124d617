"""How the gossip cluster is wired into kubelab: flags, the agent's tags, who reports a member change
as a Node event, routes from gossip with the API as the fallback, and `klctl get members`' output."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from agent.config import from_args as agent_from_args
from agent.gossip.keyring import encode_key, write_keyring_file
from agent.gossip.state import EventKind, Member, MemberEvent, Status
from agent.gossipd.config import from_args as gossip_from_args
from agent.membership import node_event, node_tags, reporter
from agent.routes import member_routes, merge_routes, node_routes
from controlplane.api.v1 import core_pb2, gossip_pb2
from controlplane.apiserver.members import default_node
from controlplane.controllermanager.config import from_args as manager_from_args
from controlplane.controllers.nodelifecycle.gossipwitness import GossipWitness, read_view
from controlplane.controllers.nodelifecycle.health import Verdict, WitnessVerdict
from controlplane.daemon import ConfigError
from controlplane.klctl.verbs_members import member_document, member_table

NET = ipaddress.IPv4Network
KEY = encode_key(b"k" * 32)


def member(name: str, status: str = "alive", **tags: str) -> Member:
    return Member(name, f"10.0.0.{len(name)}", 7946, 1, Status(status), 0.0,
                  tuple((k.replace("_", "-"), v) for k, v in tags.items()))


# ------------------------------------------------------------------ flags

def test_agent_gossip_flags_take_join_lists_keys_and_knobs() -> None:
    config = agent_from_args(["--node-name", "worker1", "--join", "10.0.0.10", "--join", "10.0.0.11:8000,master",
                              "--gossip-key", KEY, "--gossip-probe-interval", "1", "--gossip-port", "17946"])
    gossip = config.gossip.config("worker1", "10.0.0.12")
    assert gossip.join == ("10.0.0.10", "10.0.0.11:8000", "master")
    assert gossip.probe_interval == 1.0 and gossip.probe_timeout == 0.2
    assert gossip.bind_port == 17946 and config.gossip.keys == (b"k" * 32,)


def test_join_comes_from_the_env_only_without_flags(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBELAB_AGENT_JOIN", "10.0.0.10,10.0.0.11")
    assert agent_from_args(["--node-name", "w"]).gossip.join == ("10.0.0.10", "10.0.0.11")
    assert agent_from_args(["--node-name", "w", "--join", "10.0.0.12"]).gossip.join == ("10.0.0.12",)


def test_a_keyring_file_is_read_at_start(tmp_path: Path) -> None:
    path = tmp_path / "keyring"
    write_keyring_file(path, [b"1" * 16, b"2" * 32])
    config = agent_from_args(["--node-name", "w", "--gossip-keyring-file", str(path)])
    assert config.gossip.keys == (b"1" * 16, b"2" * 32) and config.gossip.keyring_file == path


@pytest.mark.parametrize(("argv", "error"), [
    (["--join", "a:b:c"], "--join 'a:b:c': expected HOST, HOST:PORT or [IPV6]:PORT"),
    (["--join", "host:99999"], "the port must be a number from 1 to 65535"),
    (["--gossip-key", "!!"], "--gossip-key: gossip key"),
    (["--gossip-key", encode_key(b"x" * 5)], "16, 24 or 32 bytes"),
    (["--gossip-key", KEY, "--gossip-keyring-file", "/k"], "give one or the other"),
    (["--gossip-keyring-file", "/nonexistent/keyring"], "--gossip-keyring-file: /nonexistent/keyring: No such file"),
    (["--gossip-probe-interval", "0"], "--gossip-probe-interval 0.0: must be more than 0"),
    (["--gossip-probe-timeout", "0.6"], "must be shorter than --gossip-probe-interval"),
    (["--gossip-nodes", "0"], "--gossip-nodes 0: must be at least 1"),
    (["--gossip-retransmit-mult", "0"], "--gossip-retransmit-mult 0: must be at least 1"),
    (["--gossip-port", "70000"], "--gossip-port 70000: expected 0 to 65535"),
])
def test_bad_gossip_flags_are_refused_in_one_line(argv: list[str], error: str) -> None:
    with pytest.raises(ConfigError, match=error.replace("[", r"\[").replace("]", r"\]")) as refused:
        agent_from_args(["--node-name", "w", *argv])
    assert "\n" not in str(refused.value)


@pytest.mark.parametrize(("argv", "error"), [
    (["--bind", "0.0.0.0:7946"], "--advertise: required when binding 0.0.0.0"),
    (["--bind", "10.0.0.1"], "--bind '10.0.0.1': expected HOST:PORT"),
    (["--bind", "10.0.0.1:1", "--tag", "novalue"], "--tag 'novalue': expected KEY=VALUE"),
    (["--bind", "10.0.0.1:1", "--advertise", "somewhere"], "--advertise 'somewhere': not an IP address"),
])
def test_kubelab_gossip_refuses_bad_flags(argv: list[str], error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        gossip_from_args(["--name", "m", *argv])


def test_kubelab_gossip_flags_make_its_config() -> None:
    config = gossip_from_args(["--name", "m", "--bind", "0.0.0.0:7950", "--advertise", "10.0.0.5",
                               "--tag", "role=edge,zone=a", "--tag", "rack=3", "--join", "10.0.0.1"])
    assert config.gossip.advertise == ("10.0.0.5", 7950)
    assert config.gossip.tags == (("role", "edge"), ("zone", "a"), ("rack", "3"))


# ------------------------------------------------------------------ the agent as a member

def test_agent_tags_say_role_pod_cidr_and_addresses() -> None:
    master = agent_from_args(["--node-name", "master", "--node-ip", "10.0.0.10", "--server", "10.0.0.10:6443",
                              "--node-labels", "node-role.kubernetes.io/control-plane="])
    assert dict(node_tags(master, NET("10.244.0.0/24"), 10250)) == {
        "role": "control-plane", "pod-cidr": "10.244.0.0/24", "agent": "10.0.0.10:10250",
        "api-server": "10.0.0.10:6443"}
    worker = agent_from_args(["--node-name", "w", "--node-ip", "10.0.0.11"])
    assert dict(node_tags(worker, None, 10250))["role"] == "worker"
    assert "pod-cidr" not in dict(node_tags(worker, None, 10250))  # not assigned yet


@pytest.mark.parametrize(("members", "subject", "expected"), [
    ([member("master"), member("worker1"), member("worker2")], "worker2", "master"),
    ([member("master"), member("worker1"), member("worker2")], "master", "worker1"),  # the dead one cannot speak
    ([member("master", "dead"), member("worker1"), member("worker2")], "worker2", "worker1"),
    ([member("master", "left"), member("worker1", "suspect"), member("worker2")], "worker2", "worker1"),
    ([member("worker2")], "worker2", None),
])
def test_one_live_member_reports_each_change_the_lowest_named_other_than_its_subject(
        members: list[Member], subject: str, expected: str | None) -> None:
    assert reporter(members, subject) == expected


@pytest.mark.parametrize(("kind", "made"), [
    (EventKind.JOIN, ("Normal", "MemberJoined", "Node w1 event: Joined the gossip cluster")),
    (EventKind.LEAVE, ("Normal", "MemberLeft", "Node w1 event: Left the gossip cluster")),
    (EventKind.FAILED, ("Warning", "MemberFailed",
                        "Node w1 event: Declared dead by the gossip cluster: no answer to direct or indirect probes")),
    (EventKind.RECOVERED, ("Normal", "MemberRecovered", "Node w1 event: Alive again in the gossip cluster")),
    (EventKind.SUSPECT, None),
    (EventKind.ALIVE, None),
    (EventKind.UPDATE, None),
    (EventKind.REAP, None),
])
def test_member_changes_become_node_events_in_kubernetes_wording(kind: EventKind,
                                                                 made: tuple[str, str, str] | None) -> None:
    assert node_event(MemberEvent(kind, member("w1"), 0.0)) == made


# ------------------------------------------------------------------ routes

def _node(name: str, cidr: str, ip: str) -> core_pb2.Node:
    node = core_pb2.Node()
    node.metadata.name = name
    node.spec.pod_cidr = cidr
    node.status.addresses.add(type="InternalIP", address=ip)
    return node


def test_gossip_routes_come_from_live_members_pod_cidr_tags() -> None:
    members = [member("me", pod_cidr="10.244.0.0/24"), member("w1", pod_cidr="10.244.1.0/24"),
               member("w22", "dead", pod_cidr="10.244.2.0/24"), member("w333", "suspect", pod_cidr="10.244.3.0/24"),
               member("edge"), member("bad", pod_cidr="nonsense")]
    assert member_routes(members, "me") == {"w1": (NET("10.244.1.0/24"), "10.0.0.2"),
                                            "w333": (NET("10.244.3.0/24"), "10.0.0.4")}


@pytest.mark.parametrize(("gossip", "api", "expected"), [
    ({}, {}, {}),
    ({"w1": (NET("10.244.1.0/24"), "10.0.0.11")}, {}, {NET("10.244.1.0/24"): "10.0.0.11"}),  # no Node needed
    ({}, {"w1": (NET("10.244.1.0/24"), "10.0.0.11")}, {NET("10.244.1.0/24"): "10.0.0.11"}),  # the fallback
    ({"w1": (NET("10.244.1.0/24"), "10.0.0.99")}, {"w1": (NET("10.244.1.0/24"), "10.0.0.11")},
     {NET("10.244.1.0/24"): "10.0.0.99"}),  # gossip, fresher, wins for the node it knows
    ({"w1": (NET("10.244.9.0/24"), "10.0.0.11")}, {"w1": (NET("10.244.1.0/24"), "10.0.0.11"),
                                                   "w2": (NET("10.244.2.0/24"), "10.0.0.12")},
     {NET("10.244.9.0/24"): "10.0.0.11", NET("10.244.2.0/24"): "10.0.0.12"}),
])
def test_routes_merge_gossip_over_the_node_objects(gossip: dict, api: dict, expected: dict) -> None:  # type: ignore[type-arg]
    assert merge_routes(gossip, api) == expected


def test_node_routes_skip_ourselves_and_nodes_without_cidr_or_address() -> None:
    nodes = [_node("me", "10.244.0.0/24", "10.0.0.10"), _node("w1", "10.244.1.0/24", "10.0.0.11"),
             _node("w2", "", "10.0.0.12"), _node("w3", "10.244.3.0/24", "")]
    assert node_routes(nodes, "me") == {"w1": (NET("10.244.1.0/24"), "10.0.0.11")}


# ------------------------------------------------------------------ views

def _view() -> gossip_pb2.GossipView:
    view = gossip_pb2.GossipView(node="master")
    view.members.add(name="worker1", address="10.0.0.11", port=7946, status="dead", incarnation=3,
                     status_seconds=75).tags.update({"role": "worker", "pod-cidr": "10.244.1.0/24"})
    view.members.add(name="master", address="10.0.0.10", port=7946, status="alive", incarnation=1)
    view.stats.update({"probes": 10, "dropped_auth": 2})
    return view


def test_members_print_as_a_table_sorted_by_name() -> None:
    assert member_table(_view(), wide=False, no_headers=False).splitlines() == [
        "NAME      ADDRESS          STATUS   INCARNATION   TAGS",
        "master    10.0.0.10:7946   alive    1             <none>",
        "worker1   10.0.0.11:7946   dead     3             pod-cidr=10.244.1.0/24,role=worker"]
    wide = member_table(_view(), wide=True, no_headers=True).splitlines()
    assert wide[1].split()[-1] == "75s"


def test_members_as_json_name_the_node_that_answered() -> None:
    document = member_document(_view())
    assert document["kind"] == "MemberList" and document["node"] == "master"
    assert document["items"][0] == {"name": "worker1", "address": "10.0.0.11:7946", "status": "dead",
                                    "incarnation": 3, "tags": {"pod-cidr": "10.244.1.0/24", "role": "worker"},
                                    "statusSeconds": 75.0}
    assert document["stats"] == {"dropped_auth": 2, "probes": 10}


def test_without_a_node_named_the_control_plane_node_answers() -> None:
    nodes = [_node("a-worker", "", ""), _node("master", "", ""), _node("b", "", "")]
    nodes[1].metadata.labels["node-role.kubernetes.io/control-plane"] = ""
    assert default_node(nodes).metadata.name == "master"
    assert default_node(nodes[::2]).metadata.name == "a-worker"


# ------------------------------------------------------------------ the node lifecycle controller's witness

def _members(**statuses: tuple[str, float]) -> list[gossip_pb2.GossipMember]:
    return [gossip_pb2.GossipMember(name=name, status=status, status_seconds=age)
            for name, (status, age) in statuses.items()]


def test_a_view_gives_dead_and_alive_verdicts_dated_from_when_the_agent_reached_them() -> None:
    verdicts, changed = read_view(_members(master=("alive", 100.0), w1=("dead", 2.5), w2=("suspect", 0.1),
                                           w3=("left", 9.0)), received=1000.0, previous={})
    assert verdicts == {"master": (Verdict.ALIVE, 900.0), "w1": (Verdict.DEAD, 997.5)}
    assert changed == {"master", "w1"}  # suspect and left give no verdict: the Lease decides


def test_an_unchanged_verdict_keeps_its_moment_and_a_change_is_reported() -> None:
    previous = {"w1": (Verdict.ALIVE, 10.0), "w2": (Verdict.ALIVE, 10.0), "w3": (Verdict.DEAD, 20.0)}
    verdicts, changed = read_view(_members(w1=("alive", 0.0), w2=("dead", 0.5)), received=50.0, previous=previous)
    assert verdicts == {"w1": (Verdict.ALIVE, 10.0), "w2": (Verdict.DEAD, 49.5)}
    assert changed == {"w2", "w3"}  # w3 is no longer in the view: its verdict is gone


def test_the_witness_answers_with_the_verdicts_age_and_tells_its_listeners() -> None:
    now = [100.0]
    witness = GossipWitness("127.0.0.1:1", clock=lambda: now[0])
    told: list[str] = []
    witness.subscribe(told.append)
    witness._take(_members(w1=("dead", 1.0), master=("alive", 50.0)))
    now[0] = 103.0
    assert witness.verdict("w1") == WitnessVerdict(Verdict.DEAD, 4.0)
    assert witness.verdict("nobody") is None
    assert told == ["master", "w1"]
    witness._take([])  # the stream broke: no verdicts until it is back
    assert witness.verdict("w1") is None and told[-2:] == ["master", "w1"]


def test_the_controller_manager_takes_an_agent_as_gossip_witness() -> None:
    assert manager_from_args(["--gossip-witness", "127.0.0.1:10250"]).node_lifecycle.gossip_witness == \
        "127.0.0.1:10250"
    assert manager_from_args([]).node_lifecycle.gossip_witness == ""  # the Lease alone
    with pytest.raises(ConfigError, match="--gossip-witness '10250': expected HOST:PORT"):
        manager_from_args(["--gossip-witness", "10250"])
