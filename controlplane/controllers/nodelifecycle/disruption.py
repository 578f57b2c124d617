"""Zones and how disrupted they are, and the rate at which their nodes may be tainted. Pure.

Kubernetes' safeguard against a control plane that is itself cut off: when every node of every
zone is not Ready, the fault is most likely on the master's side, so no NoExecute taint is added
(and those there are removed) until some node is heard from again. A zone where many nodes (at
least 3, and `--unhealthy-zone-threshold` of them) are not Ready is partly disrupted: its nodes are
tainted at `--secondary-node-eviction-rate`, or not at all in a zone of at most
`--large-cluster-size-threshold` nodes. Otherwise nodes are tainted at `--node-eviction-rate`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum

REGION_LABEL = "topology.kubernetes.io/region"
ZONE_LABEL = "topology.kubernetes.io/zone"
EXCLUDE_LABEL = "node.kubernetes.io/exclude-disruption"


class ZoneState(Enum):
    NORMAL = "Normal"
    PARTIAL = "PartialDisruption"
    FULL = "FullDisruption"


def zone_of(labels: Mapping[str, str]) -> str:
    """Kubernetes' zone key: region and zone labels (empty when the node has neither)."""
    region, zone = labels.get(REGION_LABEL, ""), labels.get(ZONE_LABEL, "")
    return f"{region}:\x00:{zone}" if region or zone else ""


def zone_state(ready: Sequence[str], unhealthy_threshold: float) -> ZoneState:
    """The state of a zone from its nodes' Ready statuses."""
    healthy = sum(1 for status in ready if status == "True")
    unhealthy = len(ready) - healthy
    if healthy == 0 and unhealthy > 0:
        return ZoneState.FULL
    if unhealthy > 2 and unhealthy / len(ready) >= unhealthy_threshold:
        return ZoneState.PARTIAL
    return ZoneState.NORMAL


@dataclass(frozen=True, slots=True)
class Rates:
    healthy: float  # --node-eviction-rate
    secondary: float  # --secondary-node-eviction-rate
    large_cluster: int  # --large-cluster-size-threshold


def tainting_rate(state: ZoneState, zone_size: int, rates: Rates) -> float:
    """Nodes per second that may be tainted NoExecute in a zone in this state."""
    if state is ZoneState.PARTIAL:
        return rates.secondary if zone_size > rates.large_cluster else 0.0
    return rates.healthy


def everything_down(states: Mapping[str, ZoneState]) -> bool:
    return bool(states) and all(state is ZoneState.FULL for state in states.values())


@dataclass
class TokenBucket:
    """At most `rate` takes per second, with a burst of one (Kubernetes' eviction limiter); a rate of
    0 never allows. `now` is any monotonic clock in seconds."""

    rate: float
    burst: float = 1.0
    tokens: float = field(default=1.0)
    last: float | None = None

    def take(self, now: float) -> bool:
        if self.rate <= 0:
            return False
        if self.last is not None:
            self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
