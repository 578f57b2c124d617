"""The scheduler on the lab, as a student meets it: a pod without a node lands on a worker, never on
the master (its control-plane taint), and a pod too big for what is left waits with kube-scheduler's
FailedScheduling message in `klctl describe pod`, then runs once room is made.

Each node offers 2 cpu (KUBELAB_AGENT_CPU), so the sizes below do not depend on the machine.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.lab import Lab, LabFactory
from tests.support.pods import get_pod, wait_pod

pytestmark = [pytest.mark.root, pytest.mark.slow]

ENV = {"KUBELAB_AGENT_CPU": "2"}
TOO_BIG = ("0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, "
           "2 Insufficient cpu.")


@pytest.fixture(scope="module")
def cluster(module_labs: LabFactory) -> Iterator[Lab]:
    yield module_labs(workers=2, env=ENV)


def sleeper(name: str, cpu: str = "100m") -> str:
    return f"""\
apiVersion: v1
kind: Pod
metadata:
  name: {name}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: busybox
    command: [sleep, "3600"]
    resources:
      requests: {{cpu: {cpu}}}
"""


def running(pod: dict[str, object]) -> bool:
    return pod.get("status", {}).get("phase") == "Running"  # type: ignore[union-attr]


def test_pods_without_a_node_land_on_the_workers_never_on_the_master(cluster: Lab) -> None:
    for i in range(4):
        cluster.klctl_ok("apply", "-f", cluster.write(f"free-{i}.yaml", sleeper(f"free-{i}")))
    nodes = {wait_pod(cluster, f"free-{i}", running, timeout=120, what="Running")["spec"]["nodeName"]
             for i in range(4)}
    assert nodes == {"worker1", "worker2"}, cluster.logs()
    described = cluster.klctl_ok("describe", "pod", "free-0")
    node = (get_pod(cluster, "free-0") or {})["spec"]["nodeName"]
    assert "default-scheduler" in described and f"Successfully assigned default/free-0 to {node}" in described
    for i in range(4):
        cluster.klctl_ok("delete", "pod", f"free-{i}", "--now")


def test_a_pod_too_big_says_why_in_describe_and_runs_once_room_is_made(cluster: Lab) -> None:
    for i in range(2):
        cluster.klctl_ok("apply", "-f", cluster.write(f"filler-{i}.yaml", sleeper(f"filler-{i}", cpu="1500m")))
    fillers = {wait_pod(cluster, f"filler-{i}", running, timeout=120, what="Running")["spec"]["nodeName"]:
               f"filler-{i}" for i in range(2)}
    assert set(fillers) == {"worker1", "worker2"}
    cluster.klctl_ok("apply", "-f", cluster.write("big.yaml", sleeper("big", cpu="1")))

    def refused(pod: dict[str, object]) -> bool:
        conditions = pod.get("status", {}).get("conditions", [])  # type: ignore[union-attr]
        return any(c.get("type") == "PodScheduled" and c.get("reason") == "Unschedulable" for c in conditions)
    pending = wait_pod(cluster, "big", refused, timeout=60, what="refused by the scheduler")
    assert pending["status"]["phase"] == "Pending" and not pending["spec"].get("nodeName")
    described = cluster.klctl_ok("describe", "pod", "big")
    assert "FailedScheduling" in described and "default-scheduler" in described and TOO_BIG in described, described
    assert any(line.split()[:2] == ["PodScheduled", "False"] for line in described.splitlines()), described

    cluster.klctl_ok("delete", "pod", fillers["worker2"], "--now")
    bound = wait_pod(cluster, "big", running, timeout=120, what="Running after room was made")
    assert bound["spec"]["nodeName"] == "worker2"
    assert "Successfully assigned default/big to worker2" in cluster.klctl_ok("describe", "pod", "big")
