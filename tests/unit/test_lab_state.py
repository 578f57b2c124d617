"""lab.json: what `up` built, read back by `status` and `down`."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path

import pytest

from controlplane.lab.state import DaemonRecord, LabState, StateError, load, save


def test_state_round_trips_and_lists_nodes_and_daemons(tmp_path: Path) -> None:
    state = LabState("klt1", ipaddress.IPv4Network("10.246.0.0/24"), 1, tmp_path, created=12.5)
    state = state.with_daemon(DaemonRecord("master", "apiserver", 4242, 987654, str(tmp_path / "master/apiserver.log"),
                                           ("ip", "netns", "exec", "klt1-master", "kubelab", "apiserver")))
    save(state)
    assert load(tmp_path) == state
    data = json.loads((tmp_path / "lab.json").read_text())
    assert [n["ip"] for n in data["nodes"]] == ["10.246.0.10", "10.246.0.11"]
    assert data["daemons"][0]["pid"] == 4242 and data["daemons"][0]["startTime"] == 987654
    assert data["apiServer"] == "10.246.0.10:6443"


def test_no_state_file_is_none_and_a_broken_one_is_a_one_line_error(tmp_path: Path) -> None:
    assert load(tmp_path) is None
    (tmp_path / "lab.json").write_text("{not json")
    with pytest.raises(StateError, match=r"lab\.json: not JSON"):
        load(tmp_path)
    (tmp_path / "lab.json").write_text('{"prefix": "kl"}')
    with pytest.raises(StateError, match=r"lab\.json: not a lab state"):
        load(tmp_path)


def test_a_state_with_an_impossible_plan_is_refused(tmp_path: Path) -> None:
    state = LabState("kl", ipaddress.IPv4Network("10.240.0.0/24"), 1, tmp_path)
    save(state)
    data = json.loads((tmp_path / "lab.json").read_text())
    (tmp_path / "lab.json").write_text(json.dumps({**data, "subnet": "10.244.1.0/24"}))
    with pytest.raises(StateError, match="not a lab's plan"):
        load(tmp_path)
