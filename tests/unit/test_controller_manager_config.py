"""The controller manager's flags: Kubernetes' defaults, shorter values for the lab, one-line refusals."""

from __future__ import annotations

import ipaddress

import pytest

from controlplane.apiserver.config import from_args as apiserver_from_args
from controlplane.controllermanager.config import from_args
from controlplane.daemon import ConfigError


def test_defaults_are_kubernetes_defaults() -> None:
    config = from_args([])
    assert config.node_ipam.cluster_cidr == ipaddress.IPv4Network("10.244.0.0/16")
    assert config.node_ipam.node_cidr_mask_size == 24
    life = config.node_lifecycle
    assert (life.node_monitor_period, life.node_monitor_grace_period, life.node_startup_grace_period) == (5, 50, 60)
    assert (life.node_eviction_rate, life.secondary_node_eviction_rate) == (0.1, 0.01)
    assert (life.large_cluster_size_threshold, life.unhealthy_zone_threshold) == (50, 0.55)
    assert config.pod_gc.terminated_pod_gc_threshold == 12500
    assert config.namespace_sync_period == 300
    assert all(config.enabled(name) for name in ("nodeipam", "nodelifecycle", "taint-eviction-controller", "podgc",
                                                  "garbagecollector", "namespace"))


def test_short_timings_for_the_lab() -> None:
    config = from_args(["--node-monitor-period", "1", "--node-monitor-grace-period", "6", "--controllers",
                        "nodelifecycle,taint-eviction-controller"])
    assert config.node_lifecycle.node_monitor_grace_period == 6
    assert config.enabled("nodelifecycle") and not config.enabled("garbagecollector")


@pytest.mark.parametrize(("argv", "message"), [
    (["--cluster-cidr", "10.244.0.0/33"], "--cluster-cidr '10.244.0.0/33'"),
    (["--node-cidr-mask-size", "12"], "--node-cidr-mask-size 12: must be between"),
    (["--node-monitor-grace-period", "0"], "--node-monitor-grace-period must be more than 0"),
    (["--node-monitor-period", "10", "--node-monitor-grace-period", "5"],
     "--node-monitor-grace-period must be at least --node-monitor-period"),
    (["--unhealthy-zone-threshold", "1.5"], "--unhealthy-zone-threshold must be more than 0 and at most 1"),
    (["--terminated-pod-gc-threshold", "-1"], "--terminated-pod-gc-threshold must be 0 or more"),
    (["--controllers", "nodelifecycle,nodecontroller"], "unknown controller 'nodecontroller'"),
])
def test_bad_flags_are_refused_in_one_line(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        from_args(argv)


def test_apiserver_event_ttl_and_default_tolerations() -> None:
    config = apiserver_from_args(["--event-ttl", "2", "--default-not-ready-toleration-seconds", "4",
                                  "--default-unreachable-toleration-seconds", "5"])
    assert (config.event_ttl, config.default_not_ready_toleration_seconds,
            config.default_unreachable_toleration_seconds) == (2, 4, 5)
    defaults = apiserver_from_args([])
    assert (defaults.event_ttl, defaults.default_not_ready_toleration_seconds) == (3600, 300)
    with pytest.raises(ConfigError, match="--event-ttl must be more than 0"):
        apiserver_from_args(["--event-ttl", "0"])
