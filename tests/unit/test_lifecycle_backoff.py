"""CrashLoopBackOff: the waits, the reset, and the kubelet's messages."""

from __future__ import annotations

import pytest

from agent.lifecycle.backoff import BackOffPolicy, RestartBackOff
from agent.lifecycle.events import back_off_restarting


def crash_loop(backoff: RestartBackOff, runs: list[float]) -> list[float]:
    """The container runs for each duration in turn, crashes, and is restarted when allowed;
    the wait each exit got."""
    waits = []
    now = 1000.0
    for ran_for in runs:
        finished_at = now + ran_for
        restart_at = backoff.next_restart_at(finished_at, finished_at, ran_for)
        waits.append(restart_at - finished_at)
        now = restart_at
    return waits


@pytest.mark.parametrize(("policy", "runs", "waits"), [
    # Kubernetes: the first crash restarts at once, then 10 s doubling to 5 min.
    (BackOffPolicy(), [1.0] * 9, [0, 10, 20, 40, 80, 160, 300, 300, 300]),
    # a run longer than 10 minutes forgets the history
    (BackOffPolicy(), [1, 1, 1, 601, 1, 1], [0, 10, 20, 0, 10, 20]),
    # exactly 10 minutes is not longer than 10 minutes
    (BackOffPolicy(), [1, 1, 600, 1], [0, 10, 20, 40]),
    # long runs below the reset still count as crashes
    (BackOffPolicy(), [1, 500, 500], [0, 10, 20]),
    # the lab's short numbers
    (BackOffPolicy(initial=0.5, maximum=2, reset_after=5), [0.1] * 6, [0, 0.5, 1, 2, 2, 2]),
    (BackOffPolicy(initial=1, maximum=60, reset_after=600, factor=3), [1] * 6, [0, 1, 3, 9, 27, 60]),
    # a maximum below the initial caps the first wait too
    (BackOffPolicy(initial=10, maximum=5), [1] * 3, [0, 5, 5]),
])
def test_waits_grow_to_the_cap_and_reset(policy: BackOffPolicy, runs: list[float], waits: list[float]) -> None:
    assert crash_loop(RestartBackOff.from_policy(policy), runs) == pytest.approx(waits)


def test_positional_arguments_are_initial_maximum_reset() -> None:
    backoff = RestartBackOff(1.0, 4.0, 30.0)
    assert backoff.policy == BackOffPolicy(initial=1.0, maximum=4.0, reset_after=30.0, factor=2.0)
    assert crash_loop(backoff, [1] * 5) == [0, 1, 2, 4, 4]


def test_asking_twice_about_the_same_exit_does_not_grow_the_back_off() -> None:
    backoff = RestartBackOff()
    backoff.next_restart_at(100.0, 100.0, 1.0)  # first exit: at once
    assert backoff.next_restart_at(200.0, 200.0, 1.0) == 210.0
    assert backoff.next_restart_at(201.0, 200.0, 1.0) == 210.0  # the same exit, seen again
    assert backoff.delay == 10.0
    assert backoff.next_restart_at(300.0, 300.0, 1.0) == 320.0


def test_an_exit_noticed_late_is_restarted_now() -> None:
    backoff = RestartBackOff()
    backoff.next_restart_at(0.0, 0.0, 1.0)
    assert backoff.next_restart_at(now=50.0, finished_at=5.0, ran_for=1.0) == 50.0


def test_in_back_off_and_remaining() -> None:
    backoff = RestartBackOff()
    assert not backoff.in_back_off(0.0) and backoff.restart_at() is None and backoff.remaining(0.0) == 0.0
    backoff.next_restart_at(10.0, 10.0, 1.0)
    assert not backoff.in_back_off(10.0)  # restarted at once: never CrashLoopBackOff
    backoff.next_restart_at(20.0, 20.0, 1.0)
    assert backoff.in_back_off(20.0) and backoff.in_back_off(29.9)
    assert backoff.remaining(25.0) == 5.0
    assert not backoff.in_back_off(30.0) and backoff.remaining(31.0) == 0.0


@pytest.mark.parametrize(("exits", "text"), [
    (2, "back-off 10s restarting failed container=api pod=web-1_default(6b1f)"),
    (3, "back-off 20s restarting failed container=api pod=web-1_default(6b1f)"),
    (6, "back-off 2m40s restarting failed container=api pod=web-1_default(6b1f)"),
    (7, "back-off 5m0s restarting failed container=api pod=web-1_default(6b1f)"),
])
def test_waiting_message_names_the_delay_as_go_prints_it(exits: int, text: str) -> None:
    backoff = RestartBackOff()
    crash_loop(backoff, [1.0] * exits)
    assert backoff.message("api", "web-1", "default", "6b1f") == text


def test_reset_forgets_everything() -> None:
    backoff = RestartBackOff()
    crash_loop(backoff, [1.0] * 4)
    backoff.reset()
    assert backoff.restart_at() is None
    assert crash_loop(backoff, [1.0] * 3) == [0, 10, 20]


def test_back_off_event() -> None:
    event = back_off_restarting("api", "web-1", "default", "6b1f")
    assert (event.type, event.reason, event.message) == (
        "Warning", "BackOff", "Back-off restarting failed container api in pod web-1_default(6b1f)")


@pytest.mark.parametrize("fields", [{"initial": -1}, {"maximum": -1}, {"reset_after": -1}, {"factor": 0.5}])
def test_nonsense_policies_are_refused(fields: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        BackOffPolicy(**fields)
