"""Events expire --event-ttl after their last write."""

from __future__ import annotations

import pytest

from controlplane.api.timestamps import epoch
from controlplane.api.v1 import core_pb2, meta_pb2
from controlplane.apiserver.eventttl import expired, last_written, sweep_interval

T = epoch("2026-01-01T01:00:00Z") or 0.0


def event(created: str = "", first: str = "", last: str = "", event_time: str = "") -> core_pb2.Event:
    return core_pb2.Event(metadata=meta_pb2.ObjectMeta(name="e", creation_timestamp=created), first_timestamp=first,
                          last_timestamp=last, event_time=event_time)


def test_the_last_write_is_the_newest_timestamp_an_event_carries_a_whole_second_counting_as_its_end() -> None:
    bumped = event(created="2026-01-01T00:00:00Z", first="2026-01-01T00:00:00Z", last="2026-01-01T00:30:00Z")
    assert last_written(bumped) == epoch("2026-01-01T00:30:01Z")
    assert last_written(event(event_time="2026-01-01T00:40:00.123456Z")) == pytest.approx(T - 1200 + 0.123456)
    assert last_written(event()) is None


@pytest.mark.parametrize(("the_event", "ttl", "gone"), [
    (event(created="2026-01-01T00:00:00Z"), 3599, True),
    (event(created="2026-01-01T00:00:00Z"), 3600, False),  # written as late as 00:00:00.999: not yet a TTL
    (event(created="2026-01-01T00:00:00Z", last="2026-01-01T00:59:00Z"), 3599, False),  # aggregated lately
    (event(created="2026-01-01T00:59:57Z"), 2, True),
    (event(event_time="2026-01-01T00:59:58.000000Z"), 2, True),  # a MicroTime is exact
    (event(), 1, False),  # no time at all: never expired by guess
])
def test_expiry(the_event: core_pb2.Event, ttl: float, gone: bool) -> None:
    assert expired(the_event, T, ttl) is gone


@pytest.mark.parametrize(("ttl", "interval"), [(3600, 60), (120, 30), (2, 0.5), (0.1, 0.25)])
def test_sweeps_run_a_few_times_per_ttl_and_at_most_once_a_minute(ttl: float, interval: float) -> None:
    assert sweep_interval(ttl) == interval
