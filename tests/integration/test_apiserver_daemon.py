"""The API server as a daemon: --help, one-line refusals of bad configuration, clean SIGTERM."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.daemon import ApiServerProcess


def _kubelab(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "controlplane.cli", *args], capture_output=True, text=True,
                          timeout=60, env=env)


def test_help_lists_every_flag() -> None:
    result = _kubelab("apiserver", "--help")
    assert result.returncode == 0
    for flag in ("--listen", "--data-dir", "--store", "--service-cidr", "--node-port-range",
                 "--bookmark-interval", "--compaction-interval"):
        assert flag in result.stdout


@pytest.mark.parametrize(("args", "expected"), [
    (("--listen", "nonsense"), "--listen 'nonsense': expected HOST:PORT"),
    (("--node-port-range", "32767-30000"), "--node-port-range '32767-30000': expected LOW-HIGH"),
    (("--service-cidr", "10.96.0.0/30"), "--service-cidr '10.96.0.0/30': too small"),
    (("--bookmark-interval", "0"), "--bookmark-interval must be more than 0"),
])
def test_bad_configuration_is_one_line_and_exit_2(args: tuple[str, ...], expected: str) -> None:
    result = _kubelab("apiserver", *args)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and expected in result.stderr


def test_env_vars_configure_flags(tmp_path: Path) -> None:
    import os

    result = _kubelab("apiserver", env={**os.environ, "KUBELAB_APISERVER_LISTEN": "nowhere"})
    assert result.returncode == 2 and "--listen 'nowhere'" in result.stderr


def test_a_second_server_on_the_same_data_dir_or_port_is_refused_in_one_line(
        apiserver: ApiServerProcess, tmp_path: Path) -> None:
    same_dir = _kubelab("apiserver", "--listen", "127.0.0.1:0", "--data-dir", str(apiserver.data_dir),
                        "--log-format", "json")
    assert same_dir.returncode == 2
    refusal = same_dir.stderr.strip().splitlines()[-1]
    assert refusal.startswith("kubelab apiserver: --data-dir") and "in use by another process" in refusal
    same_port = _kubelab("apiserver", "--listen", apiserver.address, "--data-dir", str(tmp_path / "other"),
                         "--log-format", "json")
    assert same_port.returncode == 2
    assert same_port.stderr.strip().splitlines()[-1].endswith("cannot bind (address in use or not local)")


def test_sigterm_stops_the_server_cleanly(apiserver: ApiServerProcess) -> None:
    assert apiserver.stop() == 0
    events = [json.loads(line)["event"] for line in apiserver.log_path.read_text().splitlines()
              if line.startswith("{")]
    assert events[-2:] == ["store.closed", "daemon.stopped"]
