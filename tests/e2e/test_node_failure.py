"""Story S1.6: stopping a worker's agent turns its node NotReady, taints it, marks its pods not ready
and evicts them once their toleration runs out; a Deployment's pods are recreated on the other
worker; when the agent comes back the node is Ready again and the agent finishes the evicted pods.

The lab runs with its short node timings (controlplane/lab/daemons.py): a Lease renewed every
second, NotReady after 6 s of silence, pods tolerating an unreachable node for 10 s. The first
test binds its pods with `nodeName` and needs no scheduler; the second needs the scheduler and the
ReplicaSet controller, and is skipped until both are part of kubelab.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from controlplane.controllermanager.registry import CONTROLLERS
from controlplane.lab.daemons import DAEMON_NAMES, LAB_TOLERATION_SECONDS
from tests.support.lab import Lab, LabFactory
from tests.support.pods import alive, get_pod, is_ready, pids_in_pod, wait_pod
from tests.support.wait import eventually_sync

pytestmark = [pytest.mark.root, pytest.mark.slow]

UNREACHABLE = "node.kubernetes.io/unreachable"
WITH_WORKLOADS = "scheduler" in DAEMON_NAMES and {"replicaset", "deployment"} <= set(CONTROLLERS)

PODS = """\
apiVersion: v1
kind: Pod
metadata: {name: web-x, labels: {app: web}}
spec:
  nodeName: worker1
  containers:
  - name: web
    image: kubelab/demo:1
    readinessProbe:
      httpGet: {path: /readyz, port: 3000}
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: {name: web-y, labels: {app: web}}
spec:
  nodeName: worker2
  containers:
  - name: web
    image: kubelab/demo:1
    readinessProbe:
      httpGet: {path: /readyz, port: 3000}
      periodSeconds: 1
"""


@pytest.fixture(scope="module")
def cluster(module_labs: LabFactory) -> Iterator[Lab]:
    yield module_labs(workers=2)


def node_json(lab: Lab, name: str) -> dict[str, Any]:
    return dict(json.loads(lab.klctl_ok("get", "node", name, "-o", "json")))


def node_taints(lab: Lab, name: str) -> set[tuple[str, str]]:
    return {(t["key"], t["effect"]) for t in node_json(lab, name).get("spec", {}).get("taints", [])}


def node_status_column(lab: Lab, name: str) -> str:
    for line in lab.klctl_ok("get", "nodes").splitlines()[1:]:
        fields = line.split()
        if fields and fields[0] == name:
            return fields[1]
    return ""


def events(lab: Lab) -> list[tuple[str, str]]:
    items = json.loads(lab.klctl_ok("get", "events", "-o", "json"))["items"]
    return [(e["reason"], e["message"]) for e in items]


def test_a_stopped_workers_pods_are_evicted_after_their_toleration_and_finished_when_it_returns(cluster: Lab) -> None:
    cluster.klctl_ok("apply", "-f", cluster.write("pods.yaml", PODS))
    for name in ("web-x", "web-y"):
        wait_pod(cluster, name, is_ready, timeout=90, what="running and ready")
    pids = pids_in_pod(cluster, get_pod(cluster, "web-x") or {})
    assert pids

    agent = cluster.daemon("worker1", "agent")
    os.kill(int(agent["pid"]), signal.SIGKILL)  # the worker's agent dies; its containers keep running

    eventually_sync(lambda: node_status_column(cluster, "worker1") == "NotReady", timeout=60,
                    what="`klctl get nodes` to show worker1 NotReady")
    # No lower bound on the time: the lab's gossip cluster confirms the death before the grace period
    # runs out (the controller manager's second witness; tests/e2e/test_gossip.py checks that path).
    ready = {c["type"]: c for c in node_json(cluster, "worker1")["status"]["conditions"]}["Ready"]
    assert (ready["status"], ready["reason"], ready["message"]) == (
        "Unknown", "NodeStatusUnknown", "Kubelet stopped posting node status.")
    unreachable = {(UNREACHABLE, "NoExecute"), (UNREACHABLE, "NoSchedule")}
    eventually_sync(lambda: node_taints(cluster, "worker1") >= unreachable, timeout=30,
                    what="the unreachable taints on worker1")
    tainted = time.monotonic()
    assert ("NodeNotReady", "Node worker1 status is now: NodeNotReady") in events(cluster)

    web_x = wait_pod(cluster, "web-x", lambda pod: not is_ready(pod), timeout=30, what="marked not ready")
    assert not web_x["metadata"].get("deletionTimestamp"), "evicted before its toleration ran out"

    wait_pod(cluster, "web-x", lambda pod: bool(pod["metadata"].get("deletionTimestamp")),
             timeout=LAB_TOLERATION_SECONDS + 40, what="evicted (Terminating)")
    assert time.monotonic() - tainted >= LAB_TOLERATION_SECONDS - 2  # timeAdded has whole seconds
    assert ("TaintManagerEviction", "Marking for deletion Pod default/web-x") in events(cluster)
    assert "Terminating" in cluster.klctl_ok("get", "pod", "web-x")
    web_y = get_pod(cluster, "web-y")
    assert web_y is not None and is_ready(web_y) and not web_y["metadata"].get("deletionTimestamp")
    assert node_taints(cluster, "worker2") == set()

    # the agent comes back: the node is Ready again, and it stops and deletes the evicted pod
    cluster.restart(agent)
    eventually_sync(lambda: node_status_column(cluster, "worker1") == "Ready", timeout=60,
                    what="worker1 Ready again")
    eventually_sync(lambda: not node_taints(cluster, "worker1"), timeout=30, what="worker1's taints to go")
    eventually_sync(lambda: get_pod(cluster, "web-x") is None, timeout=60,
                    what="the returning agent to finish the evicted pod")
    eventually_sync(lambda: not any(alive(pid) for pid in pids), timeout=30, what="web-x's processes to stop")


REPLICAS = 4
DEPLOYMENT = f"""\
apiVersion: apps/v1
kind: Deployment
metadata: {{name: spread}}
spec:
  replicas: {REPLICAS}
  selector: {{matchLabels: {{app: spread}}}}
  template:
    metadata: {{labels: {{app: spread}}}}
    spec:
      containers:
      - name: web
        image: kubelab/demo:1
        readinessProbe:
          httpGet: {{path: /readyz, port: 3000}}
          periodSeconds: 1
"""


def deployment_pods(lab: Lab) -> list[dict[str, Any]]:
    return list(json.loads(lab.klctl_ok("get", "pods", "-l", "app=spread", "-o", "json"))["items"])


def serving(lab: Lab) -> dict[str, str]:
    """name -> node of the Deployment's pods that are Ready and not being deleted."""
    return {p["metadata"]["name"]: p["spec"].get("nodeName", "") for p in deployment_pods(lab)
            if is_ready(p) and not p["metadata"].get("deletionTimestamp")}


@pytest.mark.skipif(not WITH_WORKLOADS, reason="needs the scheduler and the ReplicaSet/Deployment controllers")
def test_a_stopped_workers_deployment_pods_are_recreated_on_the_other_worker(cluster: Lab) -> None:
    cluster.klctl_ok("apply", "-f", cluster.write("spread.yaml", DEPLOYMENT))

    def all_serving() -> dict[str, str] | None:
        now = serving(cluster)
        return now if len(now) == REPLICAS else None

    before = eventually_sync(all_serving, timeout=120, what=f"{REPLICAS} ready pods")
    assert set(before.values()) == {"worker1", "worker2"}, f"spread over both workers: {before}"
    doomed = sorted(name for name, node in before.items() if node == "worker2")

    agent = cluster.daemon("worker2", "agent")  # worker1's agent was restarted by the test above
    os.kill(int(agent["pid"]), signal.SIGKILL)
    eventually_sync(lambda: node_status_column(cluster, "worker2") == "NotReady", timeout=60,
                    what="worker2 NotReady")

    def moved() -> dict[str, str] | None:
        now = serving(cluster)
        return now if len(now) == REPLICAS and set(now.values()) == {"worker1"} else None

    after = eventually_sync(moved, timeout=90, what=f"{REPLICAS} ready pods, all on worker1")
    assert not set(after) & set(doomed), "the replacements are new pods"
    terminating = {p["metadata"]["name"] for p in deployment_pods(cluster) if p["metadata"].get("deletionTimestamp")}
    assert terminating == set(doomed), "the unreachable worker's pods wait, Terminating, for their agent"

    cluster.restart(agent)
    eventually_sync(lambda: node_status_column(cluster, "worker2") == "Ready", timeout=60,
                    what="worker2 Ready again")
    eventually_sync(lambda: not {p["metadata"]["name"] for p in deployment_pods(cluster)} & set(doomed), timeout=60,
                    what="the returning agent to finish the evicted pods")
    assert len(serving(cluster)) == REPLICAS
