"""Object timestamps as Kubernetes writes and reads them: the one place for every component."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from controlplane.api.timestamps import epoch, format_time, parse_time


@pytest.mark.parametrize(("text", "seconds"), [
    ("2024-05-01T12:00:00Z", 1714564800.0),
    ("2024-05-01T14:00:00+02:00", 1714564800.0),
    ("2024-05-01T12:00:00", 1714564800.0),  # no zone: UTC, as the API server writes
    ("2024-05-01T12:00:00.5Z", 1714564800.5),
    ("", None),
    ("yesterday", None),
])
def test_a_timestamp_is_read_in_utc_and_an_empty_or_unreadable_one_is_none(text: str, seconds: float | None) -> None:
    assert epoch(text) == seconds
    parsed = parse_time(text)
    assert (parsed.timestamp() if parsed is not None else None) == seconds


def test_trigger_times_are_read_as_kubernetes_writes_them() -> None:
    assert epoch("2024-05-01T12:00:00.123456789Z") == epoch("2024-05-01T12:00:00.123456Z")


def test_a_moment_is_written_in_whole_seconds_utc() -> None:
    moment = datetime(2024, 5, 1, 14, 0, 0, 999999, tzinfo=timezone(timedelta(hours=2)))
    assert format_time(moment) == "2024-05-01T12:00:00Z"
    assert parse_time(format_time(moment)) == datetime(2024, 5, 1, 12, tzinfo=UTC)
