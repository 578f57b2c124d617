"""/healthz, healthCheckNodePort answers and the programming latency, as kube-proxy reports them."""

from __future__ import annotations

import json
import math

from proxy.health import Latencies, ProxyHealth, render_metrics, service_health


def test_the_proxy_is_healthy_until_a_change_waits_longer_than_the_timeout() -> None:
    health = ProxyHealth(timeout=10)
    assert health.healthz(now=1000)[0] == 200
    health.queued(now=1000)
    health.queued(now=1005)  # the oldest pending change counts
    assert health.healthz(now=1009)[0] == 200
    status, body = health.healthz(now=1010)
    assert status == 503 and json.loads(body)["nodeEligible"] is True
    health.updated(now=1011)
    status, body = health.healthz(now=1011)
    assert status == 200 and set(json.loads(body)) == {"lastUpdated", "currentTime", "nodeEligible"}


def test_a_node_being_deleted_fails_healthz_but_not_livez() -> None:
    health = ProxyHealth(timeout=10, node_eligible=False)
    assert health.healthz(now=1)[0] == 503
    assert health.livez(now=1)[0] == 200


def test_a_health_check_node_port_says_whether_this_node_has_local_endpoints() -> None:
    status, body = service_health("default", "web", 2, True)
    assert status == 200
    assert json.loads(body) == {"service": {"namespace": "default", "name": "web"}, "localEndpoints": 2,
                                "serviceProxyHealthy": True}
    assert service_health("default", "web", 0, True)[0] == 503
    assert service_health("default", "web", 1, False)[0] == 503


def test_latency_quantiles_are_nearest_rank_over_the_recent_window() -> None:
    latencies = Latencies(window=100)
    assert math.isnan(latencies.quantile(0.99))
    for millis in range(1, 201):
        latencies.observe(millis / 1000)
    assert latencies.count == 200 and len(latencies.recent) == 100
    assert latencies.quantile(0.5) == 0.15 and latencies.quantile(0.99) == 0.199


def test_metrics_are_prometheus_text_with_histogram_and_recent_quantiles() -> None:
    programming, sync = Latencies(), Latencies()
    programming.observe(0.004)
    text = render_metrics(programming, sync)
    assert 'kubeproxy_network_programming_duration_seconds_bucket{le="0.005"} 1' in text
    assert 'kubeproxy_network_programming_duration_seconds_bucket{le="0.002"} 0' in text
    assert "kubeproxy_network_programming_duration_seconds_count 1" in text
    assert 'kubeproxy_network_programming_duration_seconds_recent{quantile="0.99"} 0.004000' in text
    assert 'kubeproxy_sync_proxy_rules_duration_seconds_recent{quantile="0.5"} NaN' in text
