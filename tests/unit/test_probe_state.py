"""ProbeState and ProbeGate: thresholds, initial delay, period, and the startup probe's gate, by tables."""

from __future__ import annotations

import math

import pytest

from agent.probes.gate import ProbeGate
from agent.probes.state import ProbeKind, ProbeState, Verdict
from controlplane.api.v1 import core_pb2

S, L, R = ProbeKind.STARTUP, ProbeKind.LIVENESS, ProbeKind.READINESS
OK, BAD = Verdict.SUCCESS, Verdict.FAILURE
T, F = True, False


def probe(**fields: int) -> core_pb2.Probe:
    """A probe as the API server defaults it (period 10, timeout 1, success 1, failure 3, delay 0)."""
    values = {"period_seconds": 10, "timeout_seconds": 1, "success_threshold": 1, "failure_threshold": 3,
              "initial_delay_seconds": 0} | fields
    message = core_pb2.Probe()
    for name, value in values.items():
        setattr(message, name, value)
    message.http_get.path = "/healthz"
    message.http_get.port.int_val = 3000
    return message


def feed(state: ProbeState, results: list[bool]) -> list[Verdict | None]:
    """Record each result at the moment it is due; what each record returned."""
    flips = []
    for success in results:
        now = state.next_due(0.0)
        assert now < math.inf, "a held probe was fed"
        flips.append(state.record(success, now))
    return flips


@pytest.mark.parametrize(("kind", "fields", "results", "flips", "final"), [
    # readiness starts not ready and needs successThreshold successes in a row
    (R, {}, [T], [OK], OK),
    (R, {"success_threshold": 3}, [T, T, T], [None, None, OK], OK),
    (R, {"success_threshold": 2}, [T, F, T, T], [None, None, None, OK], OK),
    (R, {}, [F, F, F, F], [None, None, None, None], BAD),  # already not ready: no flip
    (R, {"failure_threshold": 2}, [T, F, F], [OK, None, BAD], BAD),
    (R, {"failure_threshold": 2}, [T, F, T, F, T], [OK, None, None, None, None], OK),  # never 2 failures in a row
    (R, {"failure_threshold": 1, "success_threshold": 1}, [T, F, T], [OK, BAD, OK], OK),
    # liveness starts alive and dies after failureThreshold failures in a row
    (L, {}, [T, T, T], [None, None, None], OK),
    (L, {}, [F, F, F], [None, None, BAD], BAD),
    (L, {"failure_threshold": 3}, [F, F, T, F, F, F], [None, None, None, None, None, BAD], BAD),
    (L, {"failure_threshold": 5}, [F, F, F, F, F], [None, None, None, None, BAD], BAD),
    (L, {"failure_threshold": 1}, [F], [BAD], BAD),
    # startup is unknown until it succeeds once, or fails failureThreshold times
    (S, {}, [T], [OK], OK),
    (S, {"failure_threshold": 3}, [F, F, F], [None, None, BAD], BAD),
    (S, {"failure_threshold": 30}, [F] * 29 + [T], [None] * 29 + [OK], OK),
    (S, {"failure_threshold": 2}, [F, T], [None, OK], OK),
])
def test_verdict_flips_only_at_the_thresholds(kind: ProbeKind, fields: dict[str, int], results: list[bool],
                                              flips: list[Verdict | None], final: Verdict) -> None:
    state = ProbeState(kind, probe(**fields), started_at=0.0)
    assert feed(state, results) == flips
    assert state.verdict == final


@pytest.mark.parametrize(("kind", "initial"), [(R, BAD), (L, OK), (S, Verdict.UNKNOWN)])
def test_initial_verdicts_are_kubernetes(kind: ProbeKind, initial: Verdict) -> None:
    assert ProbeState(kind, probe(), started_at=5.0).verdict == initial


@pytest.mark.parametrize(("fields", "started_at", "steps"), [
    # (now, recorded?, next_due(now) afterwards)
    ({}, 100.0, [(100.0, False, 100.0), (100.0, True, 110.0), (105.0, False, 110.0), (110.0, True, 120.0)]),
    ({"initial_delay_seconds": 15}, 100.0, [(100.0, False, 115.0), (114.9, False, 115.0), (115.0, True, 125.0)]),
    ({"initial_delay_seconds": 5, "period_seconds": 3}, 0.0, [(0.0, False, 5.0), (5.0, True, 8.0),
                                                              (8.5, True, 11.0), (11.0, True, 14.0)]),
    # a check that ends late (its timeout) does not shift the period's ticks
    ({"period_seconds": 10}, 0.0, [(0.0, True, 10.0), (10.9, True, 20.0)]),
    # ticks missed while the agent was busy are skipped, not made up in a burst
    ({"period_seconds": 10}, 0.0, [(0.0, True, 10.0), (35.0, True, 40.0)]),
    # an overdue probe is due now
    ({"period_seconds": 10}, 0.0, [(0.0, True, 10.0), (12.0, False, 12.0)]),
])
def test_schedule_respects_initial_delay_then_period(fields: dict[str, int], started_at: float,
                                                     steps: list[tuple[float, bool, float]]) -> None:
    state = ProbeState(R, probe(**fields), started_at=started_at)
    for now, record, due in steps:
        if record:
            assert state.is_due(now)
            state.record(True, now)
        assert state.next_due(now) == due, (now, record)


def test_a_failed_liveness_probe_holds_until_the_container_restarts() -> None:
    state = ProbeState(L, probe(failure_threshold=2), started_at=0.0)
    assert feed(state, [F, F]) == [None, BAD]
    assert state.held and state.next_due(30.0) == math.inf and not state.is_due(30.0)
    assert state.record(True, 31.0) is None  # a late result of a check already in flight
    assert state.verdict == BAD
    state.reset(started_at=50.0)
    assert not state.held and state.verdict == OK and state.next_due(50.0) == 50.0
    assert feed(state, [F]) == [None]  # the failure count starts over
    assert state.consecutive == 1


def test_readiness_is_not_held_by_failures() -> None:
    state = ProbeState(R, probe(failure_threshold=1), started_at=0.0)
    assert feed(state, [T, F]) == [OK, BAD]
    assert not state.held and state.next_due(10.0) == 20.0
    assert feed(state, [T]) == [OK]


def test_reset_restores_the_initial_verdict_and_delay() -> None:
    state = ProbeState(R, probe(initial_delay_seconds=5), started_at=0.0)
    feed(state, [T])
    assert state.verdict == OK
    state.reset(started_at=100.0)
    assert state.verdict == BAD and state.next_due(100.0) == 105.0


def test_an_undefaulted_probe_gets_kubernetes_defaults() -> None:
    state = ProbeState(L, core_pb2.Probe(), started_at=0.0)
    assert (state.period, state.timeout, state.success_threshold, state.failure_threshold,
            state.initial_delay) == (10.0, 1.0, 1, 3, 0.0)


# ---------------------------------------------------------------------------------------------- the gate


def gate(startup: core_pb2.Probe | None = None, liveness: core_pb2.Probe | None = None,
         readiness: core_pb2.Probe | None = None, started_at: float = 0.0) -> ProbeGate:
    return ProbeGate(startup, liveness, readiness, started_at)


def kinds(states: list[ProbeState]) -> list[ProbeKind]:
    return [s.kind for s in states]


def test_without_probes_a_container_is_started_ready_and_never_probed() -> None:
    g = gate()
    assert g.started and g.ready and g.restart_cause is None
    assert g.due(0.0) == [] and g.next_due(0.0) == math.inf


def test_liveness_and_readiness_wait_for_the_startup_probe() -> None:
    g = gate(startup=probe(failure_threshold=30, period_seconds=1), liveness=probe(), readiness=probe())
    assert kinds(g.due(0.0)) == [S]
    assert not g.started and not g.ready
    assert g.record(L, False, 0.0) is None and g.liveness is not None and g.liveness.consecutive == 0
    assert g.record(R, True, 0.0) is None and g.readiness is not None and g.readiness.verdict == BAD
    for second in range(5):
        assert g.record(S, False, float(second)) is None
        assert kinds(g.due(second + 1.0)) == [S]
    assert g.record(S, True, 5.0) == OK
    assert g.started and not g.ready  # readiness has not passed yet
    assert kinds(g.due(5.0)) == [L, R]  # their delay (0) has long passed: due at once
    assert g.record(R, True, 5.0) == OK
    assert g.ready


def test_once_started_the_startup_probe_never_runs_again() -> None:
    g = gate(startup=probe(period_seconds=1), liveness=probe(period_seconds=10))
    assert g.record(S, True, 0.0) == OK
    assert g.startup is not None
    assert S not in kinds(g.due(100.0))
    assert g.record(S, False, 101.0) is None  # a late startup result is ignored
    assert g.startup.verdict == OK and g.started


def test_liveness_initial_delay_counts_from_the_container_start() -> None:
    g = gate(startup=probe(period_seconds=2), liveness=probe(initial_delay_seconds=10), started_at=0.0)
    assert g.record(S, True, 4.0) == OK
    assert g.due(4.0) == [] and g.next_due(4.0) == 10.0
    assert kinds(g.due(10.0)) == [L]


def test_a_failed_startup_probe_asks_for_a_restart_and_stops_probing() -> None:
    g = gate(startup=probe(failure_threshold=3, period_seconds=10), liveness=probe())
    flips = [g.record(S, False, t) for t in (0.0, 10.0, 20.0)]
    assert flips == [None, None, BAD]
    assert g.restart_cause is S and not g.started
    assert g.due(30.0) == [] and g.next_due(30.0) == math.inf
    g.reset(started_at=40.0)
    assert g.restart_cause is None and kinds(g.due(40.0)) == [S]


def test_a_failed_liveness_probe_asks_for_a_restart_while_readiness_goes_on() -> None:
    g = gate(liveness=probe(failure_threshold=2), readiness=probe(failure_threshold=5))
    assert g.record(R, True, 0.0) == OK
    assert g.record(L, False, 0.0) is None
    assert g.record(L, False, 10.0) == BAD
    assert g.restart_cause is L
    assert kinds(g.due(20.0)) == [R]
    assert g.ready  # readiness drives ready and nothing else


def test_readiness_failure_never_restarts() -> None:
    g = gate(readiness=probe(failure_threshold=1))
    assert g.record(R, True, 0.0) == OK
    assert g.record(R, False, 10.0) == BAD
    assert g.restart_cause is None and not g.ready and g.started


def test_gate_from_a_container_spec() -> None:
    container = core_pb2.Container(name="api", image="kubelab/demo:v1")
    container.readiness_probe.CopyFrom(probe())
    g = ProbeGate.for_container(container, started_at=0.0)
    assert g.startup is None and g.liveness is None and g.readiness is not None
    assert g.started and not g.ready
