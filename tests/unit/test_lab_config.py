"""Flags and env vars of `kubelab up`, `status` and `down`, into their frozen settings."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from controlplane.daemon import ConfigError
from controlplane.lab.config import down_from_args, status_from_args, up_from_args
from controlplane.lab.daemons import DAEMON_NAMES


def test_up_defaults_are_the_designs_lab(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBELAB_CONFIG", str(tmp_path / "config"))
    for name in ("PREFIX", "SUBNET", "WORKERS", "STATE_DIR", "DAEMONS", "TIMEOUT"):
        monkeypatch.delenv(f"KUBELAB_LAB_{name}", raising=False)
    config = up_from_args([])
    assert (config.prefix, config.subnet, config.workers) == ("kl", ipaddress.IPv4Network("10.240.0.0/24"), 2)
    assert config.state_dir == Path("/var/lib/kubelab/kl")
    assert config.daemons == DAEMON_NAMES and {"apiserver", "agent"} <= set(config.daemons)
    assert config.proxy_mode == "userspace"
    assert config.client_config == tmp_path / "config"


def test_flags_and_env_vars(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KUBELAB_LAB_PREFIX", "klt1")
    monkeypatch.setenv("KUBELAB_LAB_WORKERS", "1")
    config = up_from_args(["--subnet", "10.245.1.0/24", "--state-dir", str(tmp_path / "s"), "--daemons", "apiserver"])
    assert (config.prefix, str(config.subnet), config.workers) == ("klt1", "10.245.1.0/24", 1)
    assert config.state_dir == tmp_path / "s" and config.daemons == ("apiserver",)
    assert down_from_args([]).state_dir == Path("/var/lib/kubelab/klt1")  # the default follows the prefix
    assert status_from_args(["--prefix", "kl"]).prefix == "kl"


@pytest.mark.parametrize(("argv", "message"), [
    (["--prefix", "kl-2"], "--prefix 'kl-2': expected 1-9 lowercase letters or digits"),
    (["--subnet", "10.240.0.5/24"], "--subnet '10.240.0.5/24': 10.240.0.5/24 has host bits set"),
    (["--subnet", "10.240.0.0/29"], "--subnet 10.240.0.0/29: too small"),
    (["--workers", "500"], "--workers 500: expected 0 to 99"),
    (["--daemons", "apiserver,kubeproxy"], "--daemons: unknown daemon 'kubeproxy'"),
    (["--daemons", "agent"], "--daemons: the lab needs the apiserver"),
    (["--timeout", "0"], "--timeout must be more than 0"),
    (["--state-dir", "/"], "--state-dir '/': choose a directory of its own"),
    (["--state-dir", "/var"], "--state-dir '/var': choose a directory of its own"),
])
def test_bad_configuration_is_refused_in_one_line(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        up_from_args(argv)
    assert str(raised.value).startswith(message) and "\n" not in str(raised.value)


def test_down_refuses_a_negative_grace() -> None:
    with pytest.raises(ConfigError, match="--grace must be 0 or more"):
        down_from_args(["--grace", "-1"])
