"""Go's renderings that Kubernetes' messages contain."""

from __future__ import annotations

import pytest

from agent.lifecycle.goformat import go_duration, go_quote, pod_ref


@pytest.mark.parametrize(("seconds", "text"), [
    (0, "0s"), (1, "1s"), (10, "10s"), (20, "20s"), (40, "40s"), (80, "1m20s"), (160, "2m40s"),
    (300, "5m0s"), (600, "10m0s"), (3600, "1h0m0s"), (3661, "1h1m1s"), (1.5, "1.5s"), (0.25, "250ms"),
    (0.0015, "1.5ms"), (0.000002, "2µs"), (0.000000003, "3ns"), (-10, "-10s"), (90.125, "1m30.125s"),
])
def test_go_duration(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text


@pytest.mark.parametrize(("raw", "quoted"), [
    ("cat /tmp/healthy", '"cat /tmp/healthy"'),
    ('sh -c "exit 1"', '"sh -c \\"exit 1\\""'),
    ("a\\b\nc\td", '"a\\\\b\\nc\\td"'),
    ("\x01", '"\\x01"'),
    ("café", '"café"'),
])
def test_go_quote(raw: str, quoted: str) -> None:
    assert go_quote(raw) == quoted


def test_pod_ref() -> None:
    assert pod_ref("web-1", "default", "0d3c") == "web-1_default(0d3c)"
