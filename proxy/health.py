"""The proxy's health and metrics, as kube-proxy reports them (pure: time is passed in).

- /healthz and /livez: healthy unless a change has waited longer than the timeout to be applied
  (kube-proxy's proxier health); /healthz also fails when this node is being deleted. The body is
  kube-proxy's: `{"lastUpdated": ..., "currentTime": ..., "nodeEligible": ...}`.
- healthCheckNodePort of a `Local` LoadBalancer service: 200 when this node has a local endpoint
  of it (and the proxy is healthy), else 503, with kube-proxy's JSON body, so a load balancer
  sends the traffic only to nodes that will not drop it.
- /metrics: the network programming latency (from an EndpointSlice's last-change-trigger-time to
  the change being applied here) as Prometheus text, with quantiles over the recent changes.
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

from controlplane.api.timestamps import format_micro_time


def _time(seconds: float) -> str:
    if seconds <= 0:
        return ""
    return format_micro_time(datetime.fromtimestamp(seconds, UTC))


@dataclass
class ProxyHealth:
    timeout: float
    last_updated: float = 0.0
    oldest_pending: float | None = None
    node_eligible: bool = True

    def queued(self, now: float) -> None:
        if self.oldest_pending is None:
            self.oldest_pending = now

    def updated(self, now: float) -> None:
        self.oldest_pending = None
        self.last_updated = now

    def healthy(self, now: float) -> bool:
        return self.oldest_pending is None or now - self.oldest_pending < self.timeout

    def healthz(self, now: float) -> tuple[int, str]:
        healthy = self.healthy(now) and self.node_eligible
        # As kube-proxy: a healthy proxy reports lastUpdated as now.
        last = now if healthy else self.last_updated
        body = json.dumps({"lastUpdated": _time(last), "currentTime": _time(now), "nodeEligible": self.node_eligible})
        return (200 if healthy else 503), body

    def livez(self, now: float) -> tuple[int, str]:
        healthy = self.healthy(now)
        last = now if healthy else self.last_updated
        return (200 if healthy else 503), json.dumps({"lastUpdated": _time(last), "currentTime": _time(now)})


def service_health(namespace: str, name: str, local_endpoints: int, proxy_healthy: bool) -> tuple[int, str]:
    """The answer of a healthCheckNodePort."""
    body = json.dumps({"service": {"namespace": namespace, "name": name}, "localEndpoints": local_endpoints,
                       "serviceProxyHealthy": proxy_healthy}, indent=2)
    return (200 if local_endpoints and proxy_healthy else 503), body


BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0)
QUANTILES = (0.5, 0.9, 0.99)


@dataclass
class Latencies:
    """Observed seconds: a histogram over all of them, quantiles over the last `window`."""

    window: int = 4096
    count: int = 0
    total: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    recent: deque[float] = field(default_factory=deque)

    def observe(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        self.count += 1
        self.total += seconds
        for index, bound in enumerate(BUCKETS):
            if seconds <= bound:
                self.buckets[index] += 1
        self.recent.append(seconds)
        while len(self.recent) > self.window:
            self.recent.popleft()

    def quantile(self, q: float) -> float:
        """The nearest-rank quantile of the recent observations (NaN when there are none)."""
        if not self.recent:
            return math.nan
        ordered = sorted(self.recent)
        return ordered[max(math.ceil(q * len(ordered)) - 1, 0)]


def _number(value: float) -> str:
    return "NaN" if math.isnan(value) else f"{value:.6f}"


def render_metrics(programming: Latencies, sync: Latencies) -> str:
    lines = []
    for name, help_text, data in (
            ("kubeproxy_network_programming_duration_seconds",
             "In Cluster Network Programming Latency in seconds", programming),
            ("kubeproxy_sync_proxy_rules_duration_seconds", "SyncProxyRules latency in seconds", sync)):
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram"]
        lines += [f'{name}_bucket{{le="{bound:g}"}} {count}' for bound, count in zip(BUCKETS, data.buckets,
                                                                                       strict=True)]
        lines += [f'{name}_bucket{{le="+Inf"}} {data.count}', f"{name}_sum {data.total:.6f}",
                  f"{name}_count {data.count}"]
        summary = f"{name}_recent"
        lines += [f"# HELP {summary} {help_text}, over the last {data.window} observations",
                  f"# TYPE {summary} summary"]
        lines += [f'{summary}{{quantile="{q:g}"}} {_number(data.quantile(q))}' for q in QUANTILES]
        lines += [f"{summary}_count {len(data.recent)}"]
    return "\n".join(lines) + "\n"
