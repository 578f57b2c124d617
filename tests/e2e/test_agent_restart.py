"""The agent can die: its pods keep running, the next agent adopts them (none duplicated or
orphaned), and `kubelab down` after `kill -9` of every daemon still leaves nothing behind."""

from __future__ import annotations

import os
import signal
import time

import pytest

from tests.support.lab import LabFactory
from tests.support.pods import alive, container_status, pids_in_pod, restarts, wait_pod

pytestmark = [pytest.mark.root, pytest.mark.slow]

PODS = """\
apiVersion: v1
kind: Pod
metadata: {name: steady}
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
metadata: {name: doomed}
spec:
  nodeName: worker1
  containers:
  - name: box
    image: busybox
    command: ["sleep", "3600"]
"""


def _running(pod: dict[str, object]) -> bool:
    return container_status(pod).get("state", {}).get("running") is not None  # type: ignore[arg-type]


def test_a_restarted_agent_adopts_its_running_pods_and_cleans_up_deleted_ones(lab: LabFactory) -> None:
    cluster = lab(workers=1)
    cluster.klctl_ok("apply", "-f", cluster.write("pods.yaml", PODS))
    steady = wait_pod(cluster, "steady", lambda p: _running(p) and container_status(p).get("ready") is True,
                      timeout=60, what="running and ready")
    doomed = wait_pod(cluster, "doomed", _running, timeout=60, what="running")
    steady_pids, doomed_pids = pids_in_pod(cluster, steady), pids_in_pod(cluster, doomed)
    assert steady_pids and doomed_pids

    agent = cluster.daemon("worker1", "agent")
    os.kill(int(agent["pid"]), signal.SIGKILL)
    # While the agent is away, one pod is deleted (force: nobody is there to stop it gracefully).
    cluster.klctl_ok("delete", "pod", "doomed", "--grace-period=0", "--force")
    time.sleep(1)
    assert all(alive(pid) for pid in steady_pids), "containers outlive their agent"

    cluster.restart(agent)
    deadline = time.monotonic() + 30
    while any(alive(pid) for pid in doomed_pids) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(alive(pid) for pid in doomed_pids), "the deleted pod's containers are stopped"
    time.sleep(3)  # give a wrong agent time to start a duplicate
    pod = wait_pod(cluster, "steady", lambda p: _running(p) and container_status(p).get("ready") is True,
                   timeout=30, what="still running and ready")
    assert restarts(pod) == 0
    assert sorted(pids_in_pod(cluster, pod)) == sorted(steady_pids), "adopted, not started again"


def test_down_after_kill_9_of_every_daemon_leaves_nothing(lab: LabFactory) -> None:
    cluster = lab(workers=2)
    cluster.klctl_ok("apply", "-f", cluster.write("pods.yaml", PODS.replace("worker1\n  containers:\n  - name: box",
                                                                            "worker2\n  containers:\n  - name: box")))
    wait_pod(cluster, "steady", _running, timeout=60, what="running")
    wait_pod(cluster, "doomed", _running, timeout=60, what="running")
    for daemon in cluster.daemons():
        os.kill(int(daemon["pid"]), signal.SIGKILL)
    result = cluster.down()
    assert result.returncode == 0, result.stderr
    assert cluster.leftovers() == []
