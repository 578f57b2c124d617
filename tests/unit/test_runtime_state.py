"""The monitor's state file round-trips into the interface's ContainerStatus, with Kubernetes' reasons."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent.runtime import monitor
from agent.runtime.ids import is_container_id, new_container_id
from agent.runtime.state import Layout, Record, read_json, status_of

CONFIG = {"pod_uid": "u1", "name": "app", "attempt": 2, "image": "busybox", "created_at_ns": 1_000_000_000}
T_START = 1_795_249_500_000_000_000
T_END = T_START + 2_500_000_000


def test_the_monitors_hand_written_json_is_json(tmp_path: Path) -> None:
    fields: dict[str, object] = {
        "status": "exited", "monitor_pid": 4242, "monitor_start": 123456, "pid": 4243, "exit_code": 137,
        "signal": 9, "oom_killed": True, "lost": None, "started_at_ns": T_START,
        "start_error": 'exec: "nope": executable file not found in $PATH\n\ttab \\ "quoted" \x01 é ☃',
    }
    path = tmp_path / "state.json"
    monitor.write_state(str(path), fields)
    assert read_json(path) == fields
    assert not (tmp_path / "state.json.tmp").exists()
    assert json.loads(monitor.encode_state({"x": False})) == {"x": False}


def _record(**state: Any) -> Record:
    return Record(new_container_id(), dict(CONFIG), state)


def test_a_running_container() -> None:
    status = status_of(_record(status="running", pid=77, started_at_ns=T_START))
    assert (status.state, status.pid, status.exit_code, status.reason, status.finished_at) == ("running", 77, None, "",
                                                                                               None)
    assert status.started_at == datetime(2026, 11, 21, 8, 25, tzinfo=UTC)
    assert (status.pod_uid, status.name, status.attempt, status.image) == ("u1", "app", 2, "busybox")


@pytest.mark.parametrize(("state", "exit_code", "signal", "reason", "message"), [
    ({"exit_code": 0}, 0, None, "Completed", ""),
    ({"exit_code": 3}, 3, None, "Error", ""),
    ({"exit_code": 137, "signal": 9}, 137, 9, "Error", ""),
    ({"exit_code": 143, "signal": 15}, 143, 15, "Error", ""),
    ({"exit_code": 137, "signal": 9, "oom_killed": True}, 137, 9, "OOMKilled", ""),
    ({"exit_code": 128, "start_error": 'exec: "x": executable file not found in $PATH'}, 128, None, "StartError",
     'exec: "x": executable file not found in $PATH'),
    ({"lost": "the node restarted while the container was running"}, 137, None, "ContainerStatusUnknown",
     "the node restarted while the container was running"),
])
def test_exited_containers_get_kubernetes_reasons(state: dict[str, Any], exit_code: int, signal: int | None,
                                                  reason: str, message: str) -> None:
    status = status_of(_record(status="exited", pid=5, started_at_ns=T_START, finished_at_ns=T_END, **state))
    assert (status.state, status.exit_code, status.signal, status.reason, status.message) == (
        "exited", exit_code, signal, reason, message)
    assert status.finished_at == datetime(2026, 11, 21, 8, 25, 2, 500000, tzinfo=UTC)


def test_a_container_being_created_counts_as_running() -> None:
    status = status_of(_record())
    assert (status.state, status.pid) == ("running", 0)
    assert status.started_at == datetime(1970, 1, 1, 0, 0, 1, tzinfo=UTC)


def test_ids_are_64_hex_and_nothing_else_passes() -> None:
    assert is_container_id(new_container_id())
    assert not is_container_id("../" + "a" * 61)
    assert not is_container_id("A" * 64)


def test_layout_paths(tmp_path: Path) -> None:
    layout = Layout(tmp_path)
    assert layout.log_file("default", "web-1", "u1", "app", 3) == tmp_path / "logs/default_web-1_u1/app/3.log"
    assert layout.state("c1") == tmp_path / "containers/c1/state.json"
