"""What `kubelab status` shows and when it says something is wrong."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from controlplane.lab.readiness import NodeReadiness
from controlplane.lab.state import DaemonRecord, LabState
from controlplane.lab.status import LabStatus, problems, render

STATE = LabState("kl", ipaddress.IPv4Network("10.240.0.0/24"), 1, Path("/var/lib/kubelab/kl"), daemons=(
    DaemonRecord("master", "apiserver", 100, 1, "/var/lib/kubelab/kl/master/apiserver.log"),
    DaemonRecord("master", "agent", 101, 1, "/var/lib/kubelab/kl/master/agent.log"),
    DaemonRecord("worker1", "agent", 102, 1, "/var/lib/kubelab/kl/worker1/agent.log"),
), phase="up")


def test_a_running_lab_with_ready_nodes_has_no_problem() -> None:
    status = LabStatus(STATE, "answering (v0.1.0)", True,
                       [NodeReadiness("master", "True"), NodeReadiness("worker1", "True")],
                       {100: True, 101: True, 102: True}, {"master": True, "worker1": True})
    assert problems(status) == ""
    lines = render(status).splitlines()
    assert "master     10.240.0.10     10.244.0.0/24   kl-master            True" in lines
    assert "agent                worker1    102      running" in lines


def test_dead_daemons_missing_netns_and_unready_nodes_are_one_line() -> None:
    status = LabStatus(STATE, "answering (v0.1.0)", True,
                       [NodeReadiness("master", "True"), NodeReadiness("worker1", "False", "KubeletNotReady")],
                       {100: True, 101: True, 102: False}, {"master": True, "worker1": False})
    assert problems(status) == ("agent on worker1 is not running; netns of worker1 is missing; "
                                "node worker1: Ready=False (KubeletNotReady)")
    assert "worker1    10.240.0.11     10.244.1.0/24   kl-worker1 (missing) False" in render(status).splitlines()


def test_without_the_api_server_readiness_is_unknown() -> None:
    status = LabStatus(STATE, "not answering: connection refused", False, None,
                       {100: False, 101: True, 102: True}, {"master": True, "worker1": True})
    assert problems(status) == ("apiserver on master is not running; "
                                "the API server is not answering: connection refused")
    assert render(status).splitlines()[4].endswith(" ?")
