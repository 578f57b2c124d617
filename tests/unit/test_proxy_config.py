"""`kubelab proxy` flags: defaults, env vars, and one-line refusals."""

from __future__ import annotations

import ipaddress

import pytest

from controlplane.daemon import ConfigError
from proxy.config import from_args

BASE = ["--node-name", "worker1", "--node-ip", "10.240.0.11"]


def test_defaults_are_kube_proxys_where_it_has_them() -> None:
    config = from_args(BASE)
    assert (config.mode, config.healthz_port, config.cluster_cidr) == (
        "userspace", 10256, ipaddress.IPv4Network("10.244.0.0/16"))
    assert not config.lb_pool and config.lease_renew_interval == config.lease_duration / 3


def test_the_mode_and_pool_come_from_flags_or_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBELAB_PROXY_MODE", "nftables")
    monkeypatch.setenv("KUBELAB_PROXY_LEASE_DURATION", "3")
    config = from_args([*BASE, "--lb-pool", "10.240.0.200-10.240.0.250"])
    assert config.mode == "nftables" and config.lease_duration == 3.0
    assert "10.240.0.250" in config.lb_pool and len(config.lb_pool) == 51


@pytest.mark.parametrize(("args", "message"), [
    (["--node-ip", "node1"], "--node-ip 'node1': not an IPv4 address"),
    (["--lb-pool", "10.0.0.9-10.0.0.1"], "--lb-pool '10.0.0.9-10.0.0.1': the range ends before it starts"),
    (["--interface", "a-very-long-name"], "--interface 'a-very-long-name': interface names have 1 to 15 characters"),
    (["--connect-timeout", "0"], "--connect-timeout must be more than 0"),
    (["--cluster-cidr", "10.244.0.0/33"], "--cluster-cidr '10.244.0.0/33': "),
    (["--node-name", ""], "--node-name must not be empty"),
])
def test_bad_settings_are_refused_in_one_line(args: list[str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_args([*BASE, *args])
    assert str(caught.value).startswith(message)
