"""Object timestamps as Kubernetes writes them (RFC 3339, UTC, whole seconds: `2026-11-21T13:05:00Z`;
a MicroTime, such as a Lease's renewTime, with microseconds: `2026-11-21T13:05:00.123456Z`)."""

from __future__ import annotations

from datetime import UTC, datetime


def format_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_micro_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def now_text() -> str:
    """This moment as an object's timestamp."""
    return format_time(datetime.now(UTC))


def parse_time(text: str) -> datetime | None:
    """The moment an RFC 3339 timestamp names (fractions of a second allowed); None when empty or unreadable."""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def epoch(text: str) -> float | None:
    """Seconds since the epoch of a timestamp, None when empty or unreadable."""
    parsed = parse_time(text)
    return parsed.timestamp() if parsed is not None else None
