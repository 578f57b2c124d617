"""Zone disruption states and the NoExecute tainting rate (Kubernetes' safeguards)."""

from __future__ import annotations

import pytest

from controlplane.controllers.nodelifecycle.disruption import (
    Rates,
    TokenBucket,
    ZoneState,
    everything_down,
    tainting_rate,
    zone_of,
    zone_state,
)

T, F, U = "True", "False", "Unknown"


@pytest.mark.parametrize(("ready", "state"), [
    ([T, T, T], ZoneState.NORMAL),
    ([T, T, U], ZoneState.NORMAL),  # one worker of the lab down
    ([U], ZoneState.FULL),
    ([U, F, U], ZoneState.FULL),  # nobody Ready: probably the master is cut off
    ([T, U, U], ZoneState.NORMAL),  # 2 not Ready: too few to call the zone disrupted
    ([T, U, U, U], ZoneState.PARTIAL),  # 3 of 4
    ([T, T, U, U, U], ZoneState.PARTIAL),  # 3 of 5 = 0.6 >= 0.55
    ([T, T, T, U, U, U], ZoneState.NORMAL),  # 3 of 6 = 0.5 < 0.55
    ([T, ""], ZoneState.NORMAL),  # a node without Ready counts as not Ready
])
def test_zone_state(ready: list[str], state: ZoneState) -> None:
    assert zone_state(ready, 0.55) is state


RATES = Rates(healthy=0.1, secondary=0.01, large_cluster=50)


@pytest.mark.parametrize(("state", "size", "rate"), [
    (ZoneState.NORMAL, 3, 0.1),
    (ZoneState.FULL, 3, 0.1),  # one zone fully down among healthy ones: tainted as usual
    (ZoneState.PARTIAL, 50, 0.0),  # a small zone stops
    (ZoneState.PARTIAL, 51, 0.01),
])
def test_tainting_rate(state: ZoneState, size: int, rate: float) -> None:
    assert tainting_rate(state, size, RATES) == rate


def test_everything_down_only_when_every_zone_is_fully_disrupted() -> None:
    assert everything_down({"a": ZoneState.FULL, "b": ZoneState.FULL})
    assert not everything_down({"a": ZoneState.FULL, "b": ZoneState.NORMAL})
    assert not everything_down({})


def test_zone_key_from_region_and_zone_labels() -> None:
    assert zone_of({}) == ""
    assert zone_of({"topology.kubernetes.io/zone": "z1"}) == ":\x00:z1"
    assert zone_of({"topology.kubernetes.io/region": "r", "topology.kubernetes.io/zone": "z1"}) == "r:\x00:z1"


def test_token_bucket_allows_one_at_once_then_one_per_period() -> None:
    bucket = TokenBucket(rate=0.1)
    assert bucket.take(100.0)
    assert not bucket.take(101.0)
    assert not bucket.take(109.0)
    assert bucket.take(110.5)
    assert not bucket.take(111.0)


def test_token_bucket_of_rate_zero_never_allows() -> None:
    assert not TokenBucket(rate=0.0).take(0.0)
