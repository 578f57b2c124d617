"""The scheduler's flags: kube-scheduler's defaults, env vars, and one-line refusals."""

from __future__ import annotations

import pytest

from controlplane.daemon import ConfigError
from controlplane.scheduler.config import SchedulerConfig, from_args


def test_defaults_are_kube_schedulers() -> None:
    config = from_args([])
    assert config == SchedulerConfig()
    assert (config.scheduler_name, config.percentage_of_nodes_to_score, config.pod_initial_backoff,
            config.pod_max_backoff, config.max_unschedulable_duration) == ("default-scheduler", 0, 1.0, 10.0, 300.0)


def test_flags_fall_back_to_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KUBELAB_SCHEDULER_POD_MAX_BACKOFF", "2.5")
    monkeypatch.setenv("KUBELAB_SCHEDULER_SERVER", "10.0.0.1:6443")
    config = from_args(["--pod-initial-backoff", "0.5"])
    assert (config.server, config.pod_initial_backoff, config.pod_max_backoff) == ("10.0.0.1:6443", 0.5, 2.5)


@pytest.mark.parametrize(("argv", "message"), [
    (["--percentage-of-nodes-to-score", "101"], "--percentage-of-nodes-to-score must be between 0 and 100"),
    (["--pod-initial-backoff", "0"], "--pod-initial-backoff must be more than 0"),
    (["--pod-initial-backoff", "5", "--pod-max-backoff", "2"],
     "--pod-max-backoff must not be less than --pod-initial-backoff"),
    (["--parallel-binds", "0"], "--parallel-binds must be at least 1"),
    (["--scheduler-name", ""], "--scheduler-name must not be empty"),
])
def test_bad_settings_are_refused_in_one_line(argv: list[str], message: str) -> None:
    with pytest.raises(ConfigError, match=f"^{message}$"):
        from_args(argv)
