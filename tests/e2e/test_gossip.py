"""The agents' gossip cluster on the lab (story S6.4): every member known with its tags, routes to a
member's pods from gossip alone, a worker cut off from the master alone still alive, a killed agent
declared dead and back when it restarts, and a lab taken down and up again rejoining cleanly."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from controlplane.lab.daemons import LAB_TOLERATION_SECONDS
from tests.support.gossip import agent_log_events, clear_rules, drop_between, lab_members, statuses
from tests.support.lab import Lab, LabFactory
from tests.support.pods import is_ready, wait_pod
from tests.support.wait import eventually_sync

pytestmark = [pytest.mark.root, pytest.mark.slow]

NODES = ("master", "worker1", "worker2")
ALL_ALIVE = dict.fromkeys(NODES, "alive")
DOOMED = """\
apiVersion: v1
kind: Pod
metadata: {name: doomed}
spec:
  nodeName: worker2
  containers:
  - name: box
    image: busybox
    command: ["sleep", "3600"]
"""


@pytest.fixture(scope="module")
def cluster(module_labs: LabFactory) -> Lab:
    return module_labs(workers=2)


def _events(lab: Lab, reason: str) -> list[dict[str, Any]]:
    result = lab.klctl("get", "events", "-o", "json")
    assert result.returncode == 0, result.stderr
    return [e for e in json.loads(result.stdout)["items"] if e["reason"] == reason]


def _nodes(lab: Lab, node: str = "") -> dict[str, str]:
    """The lab's nodes' statuses as `node` sees them (members of another kind left out)."""
    return {name: status for name, status in statuses(lab, node).items() if name in NODES}


def _node_ready(lab: Lab, name: str) -> str:
    node = json.loads(lab.klctl_ok("get", "node", name, "-o", "json"))
    return next((c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready"), "")


def _controller_log(lab: Lab, event: str) -> list[dict[str, Any]]:
    found = []
    for line in lab.log("master", "controller-manager").splitlines():
        with contextlib.suppress(ValueError):
            entry = json.loads(line)
            if entry.get("event") == event:
                found.append(entry)
    return found


def _kubelab() -> tuple[str, ...]:
    script = Path(sys.executable).parent / "kubelab"
    return (str(script),) if script.exists() else (sys.executable, "-m", "controlplane.cli")


def _route(lab: Lab, node: str, cidr: str) -> str:
    return lab.exec_in(node, "ip", "-4", "route", "show", cidr).stdout.strip()


def test_three_members_converge_with_their_tags_and_joins_become_node_events(cluster: Lab) -> None:
    for node in NODES:
        eventually_sync(lambda node=node: statuses(cluster, node) == ALL_ALIVE, timeout=30,  # type: ignore[misc]
                        what=f"every member alive as {node} sees it")
    view = lab_members(cluster)
    assert view["node"] == "master"  # the control-plane node answers by default
    tags = {item["name"]: item["tags"] for item in view["items"]}
    for node in cluster.plan.nodes:
        assert tags[node.name]["pod-cidr"] == str(node.pod_cidr)
        assert tags[node.name]["agent"] == f"{node.ip}:10250"
        assert tags[node.name]["role"] == ("control-plane" if node.is_master else "worker")
    addresses = {item["name"]: item["address"] for item in view["items"]}
    assert addresses == {name: f"{ip}:7946" for name, ip in cluster.node_ips.items()}
    table = cluster.klctl_ok("get", "members", "--node", "worker1")
    assert table.splitlines()[0].split() == ["NAME", "ADDRESS", "STATUS", "INCARNATION", "TAGS"]
    joined = eventually_sync(lambda: {e["involvedObject"]["name"] for e in _events(cluster, "MemberJoined")}
                             >= set(NODES) and _events(cluster, "MemberJoined"), timeout=20,
                             what="a MemberJoined event on every Node")
    assert all(e["source"]["component"] == "gossip" for e in joined)
    assert "Node worker1 event: Joined the gossip cluster" in {e["message"] for e in joined}
    unknown = cluster.klctl("get", "members", "--node", "nosuchnode")
    assert unknown.returncode == 1 and 'nodes "nosuchnode" not found' in unknown.stderr


def test_a_member_known_only_by_gossip_gets_routes_to_its_pods_and_loses_them_when_it_leaves(cluster: Lab) -> None:
    # No Node object, no API server involved: a member of its own, on worker2, tagged with a pod range.
    worker2, master = cluster.node_ips["worker2"], cluster.node_ips["master"]
    keyring = cluster.state_dir / "worker2" / "gossip.keyring"
    extra = cluster.spawn_in("worker2", *_kubelab(), "gossip", "--name", "extra", "--bind", f"{worker2}:7947",
                             "--join", master, "--gossip-keyring-file", str(keyring),
                             "--tag", "pod-cidr=10.244.77.0/24")
    try:
        for node in ("master", "worker1"):
            eventually_sync(lambda node=node: f"via {worker2}" in _route(cluster, node, "10.244.77.0/24"),  # type: ignore[misc]
                            timeout=20, what=f"{node} to route 10.244.77.0/24 via worker2")
        assert "proto 107" in _route(cluster, "worker1", "10.244.77.0/24")  # installed by the agent
        assert statuses(cluster)["extra"] == "alive"
    finally:
        extra.send_signal(signal.SIGTERM)
        extra.wait(20)
    eventually_sync(lambda: _route(cluster, "worker1", "10.244.77.0/24") == "", timeout=20,
                    what="the route to the departed member's pods to go")
    assert statuses(cluster)["extra"] == "left"


def test_a_worker_cut_off_from_the_master_alone_stays_alive_for_gossip(cluster: Lab) -> None:
    master, worker1 = cluster.node_ips["master"], cluster.node_ips["worker1"]
    before = {m["name"]: m for m in lab_members(cluster, "worker2")["items"]}
    indirect_before = lab_members(cluster)["stats"].get("probes_indirect", 0)
    drop_between(cluster, "master", worker1)
    drop_between(cluster, "worker1", master)
    try:
        seen: set[str] = set()
        deadline = time.monotonic() + 15  # 15 s: master probes worker1 at least a dozen times
        while time.monotonic() < deadline:
            seen.add(statuses(cluster)["worker1"])  # master's view (klctl reaches master from the host)
            seen.add(statuses(cluster, "worker2")["worker1"])
            time.sleep(0.5)
        indirect = lab_members(cluster)["stats"].get("probes_indirect", 0) - indirect_before
    finally:
        clear_rules(cluster, "master")
        clear_rules(cluster, "worker1")
    assert "dead" not in seen, f"worker1 was declared dead; statuses seen: {seen}"
    assert indirect >= 5, f"master's probes of worker1 should have gone through worker2 ({indirect} did)"
    failed = [e for node in NODES for e in agent_log_events(cluster, node, "gossip.member_failed")]
    assert failed == []
    # worker1's Lease cannot reach the API server on the master: the Lease rule may mark it NotReady
    # after its grace period, but the gossip cluster never confirmed it dead.
    judged = [e for e in _controller_log(cluster, "nodelifecycle.node_unknown") if e["node"] == "worker1"]
    assert all(e["liveness"] != "confirmed-dead" and e["witness"] == "alive" for e in judged), judged
    after = {m["name"]: m for m in lab_members(cluster, "worker2")["items"]}
    assert after["worker1"]["status"] == "alive" and after["master"]["status"] == "alive"
    assert after["worker1"]["incarnation"] >= before["worker1"]["incarnation"]


def test_a_killed_worker_is_declared_dead_its_node_not_ready_at_once_and_its_pods_evicted(cluster: Lab) -> None:
    cluster.klctl_ok("apply", "-f", cluster.write("doomed.yaml", DOOMED))
    wait_pod(cluster, "doomed", is_ready, timeout=90, what="running and ready on worker2")
    agent = cluster.daemon("worker2", "agent")
    killed = time.monotonic()
    subprocess.run(["kill", "-KILL", str(agent["pid"])], check=True)
    eventually_sync(lambda: statuses(cluster)["worker2"] == statuses(cluster, "worker1")["worker2"] == "dead",
                    timeout=30, what="worker2 dead for master and worker1", interval=0.1)
    dead_after = time.monotonic() - killed
    eventually_sync(lambda: _node_ready(cluster, "worker2") == "Unknown", timeout=30, what="Node worker2 NotReady",
                    interval=0.1)
    not_ready_after = time.monotonic() - killed
    # The controller manager took the gossip cluster's verdict (its second witness): it did not
    # wait for the Lease's grace period to run out.
    judged = [e for e in _controller_log(cluster, "nodelifecycle.node_unknown") if e["node"] == "worker2"]
    assert judged and judged[0]["liveness"] == "confirmed-dead" and judged[0]["witness"] == "dead", judged
    failed = eventually_sync(lambda: [e for e in _events(cluster, "MemberFailed")
                                      if e["involvedObject"]["name"] == "worker2"], timeout=20,
                             what="a MemberFailed event on Node worker2")
    assert failed[0]["type"] == "Warning"
    assert failed[0]["message"].startswith("Node worker2 event: Declared dead by the gossip cluster")
    # Its pods are evicted once their toleration of an unreachable node runs out (10 s in the lab).
    wait_pod(cluster, "doomed", lambda pod: bool(pod["metadata"].get("deletionTimestamp")),
             timeout=LAB_TOLERATION_SECONDS + 40, what="evicted")
    cluster.restart(agent)
    eventually_sync(lambda: _nodes(cluster) == ALL_ALIVE, timeout=60, what="worker2 alive again")
    incarnations = {item["name"]: item["incarnation"] for item in lab_members(cluster)["items"]}
    assert incarnations["worker2"] > 1  # it outbid the incarnation it was declared dead with
    eventually_sync(lambda: [e for e in _events(cluster, "MemberRecovered")
                             if e["involvedObject"]["name"] == "worker2"], timeout=20,
                    what="a MemberRecovered event on Node worker2")
    eventually_sync(lambda: _node_ready(cluster, "worker2") == "True", timeout=60, what="Node worker2 Ready again")
    print(f"worker2 dead for both peers {dead_after:.1f}s after the kill, NotReady after {not_ready_after:.1f}s "
          "(klctl polling included)")


def test_down_then_up_rejoins_cleanly(cluster: Lab) -> None:
    result = cluster.down("--grace", "5")
    assert result.returncode == 0, result.stderr
    up = cluster.kubelab("up", "--subnet", str(cluster.subnet), "--workers", "2", "--timeout", "120", timeout=200)
    assert up.returncode == 0, f"{up.stderr}\n{cluster.logs()}"
    eventually_sync(lambda: statuses(cluster) == ALL_ALIVE, timeout=30, what="three members alive again")
    view = lab_members(cluster, "worker2")
    assert {item["name"]: item["status"] for item in view["items"]} == ALL_ALIVE  # nothing left over
    assert all(item["incarnation"] == 1 for item in view["items"])  # a fresh cluster: nobody had to refute
