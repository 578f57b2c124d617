"""Probe event texts and port resolution, in Kubernetes' words."""

from __future__ import annotations

import pytest

from agent.probes.checks import ProbeError, join_host_port, resolve_port
from agent.probes.events import killing_for_probe, probe_errored, probe_failed, probe_warning
from agent.probes.state import ProbeKind
from controlplane.api.v1 import meta_pb2


@pytest.mark.parametrize(("kind", "message", "text"), [
    (ProbeKind.STARTUP, 'Get "http://10.244.1.5:3000/healthz": dial tcp 10.244.1.5:3000: connect: connection refused',
     'Startup probe failed: Get "http://10.244.1.5:3000/healthz": dial tcp 10.244.1.5:3000: connect: '
     "connection refused"),
    (ProbeKind.LIVENESS, "HTTP probe failed with statuscode: 500",
     "Liveness probe failed: HTTP probe failed with statuscode: 500"),
    (ProbeKind.READINESS, "cat: can't open '/tmp/ready': No such file or directory",
     "Readiness probe failed: cat: can't open '/tmp/ready': No such file or directory"),
])
def test_failed_checks_are_unhealthy_warnings(kind: ProbeKind, message: str, text: str) -> None:
    event = probe_failed(kind, message)
    assert (event.type, event.reason, event.message) == ("Warning", "Unhealthy", text)


def test_errored_and_warning_events() -> None:
    errored = probe_errored(ProbeKind.READINESS, 'strconv.Atoi: parsing "http": invalid syntax')
    assert (errored.type, errored.reason, errored.message) == (
        "Warning", "Unhealthy",
        'Readiness probe errored and resulted in unknown state: strconv.Atoi: parsing "http": invalid syntax')
    warning = probe_warning(ProbeKind.LIVENESS, "Probe terminated redirects, Response body: moved")
    assert (warning.type, warning.reason, warning.message) == (
        "Warning", "ProbeWarning", "Liveness probe warning: Probe terminated redirects, Response body: moved")


@pytest.mark.parametrize(("kind", "restart", "text"), [
    (ProbeKind.LIVENESS, True, "Container api failed liveness probe, will be restarted"),
    (ProbeKind.STARTUP, True, "Container api failed startup probe, will be restarted"),
    (ProbeKind.LIVENESS, False, "Container api failed liveness probe"),
])
def test_killing_for_a_failed_probe(kind: ProbeKind, restart: bool, text: str) -> None:
    event = killing_for_probe("api", kind, will_restart=restart)
    assert (event.type, event.reason, event.message) == ("Normal", "Killing", text)


def test_readiness_never_kills() -> None:
    with pytest.raises(ValueError):
        killing_for_probe("api", ProbeKind.READINESS)


def port(value: int | str | None) -> meta_pb2.IntOrString:
    message = meta_pb2.IntOrString()
    if isinstance(value, int):
        message.int_val = value
    elif isinstance(value, str):
        message.str_val = value
    return message


@pytest.mark.parametrize(("value", "ports", "expected"), [
    (3000, {}, 3000),
    ("http", {"http": 8080}, 8080),
    ("8081", {}, 8081),  # an int stored as a string, the kubelet's last resort
    (65535, {}, 65535),
])
def test_ports_by_number_or_name(value: int | str, ports: dict[str, int], expected: int) -> None:
    assert resolve_port(port(value), ports) == expected


@pytest.mark.parametrize(("value", "ports", "error"), [
    ("http", {"web": 80}, 'strconv.Atoi: parsing "http": invalid syntax'),
    (0, {}, "invalid port number: 0"),
    (None, {}, "invalid port number: 0"),
    (70000, {}, "invalid port number: 70000"),
    ("http", {"http": 0}, "invalid port number: 0"),
])
def test_unresolvable_ports_error(value: int | str | None, ports: dict[str, int], error: str) -> None:
    with pytest.raises(ProbeError) as raised:
        resolve_port(port(value), ports)
    assert str(raised.value) == error


def test_join_host_port_brackets_ipv6() -> None:
    assert join_host_port("10.244.1.5", 80) == "10.244.1.5:80"
    assert join_host_port("fd00::5", 80) == "[fd00::5]:80"
