"""restartPolicy: which exits restart a container, and when a pod is finished."""

from __future__ import annotations

import pytest

from agent.lifecycle.restart import InitOutcome, PodFate, init_container_outcome, pod_fate, should_restart


@pytest.mark.parametrize(("policy", "exit_code", "restart"), [
    ("Always", 0, True), ("Always", 1, True), ("Always", 137, True),
    ("OnFailure", 0, False), ("OnFailure", 1, True), ("OnFailure", 137, True),
    ("Never", 0, False), ("Never", 1, False), ("Never", 137, False),
    ("", 0, True),  # the default policy is Always
])
def test_should_restart(policy: str, exit_code: int, restart: bool) -> None:
    assert should_restart(policy, exit_code) is restart


def test_an_unknown_policy_is_a_bug() -> None:
    with pytest.raises(ValueError, match="unknown restartPolicy 'Sometimes'"):
        should_restart("Sometimes", 1)


@pytest.mark.parametrize(("policy", "exit_code", "sidecar", "outcome"), [
    ("Always", 0, False, InitOutcome.NEXT), ("OnFailure", 0, False, InitOutcome.NEXT),
    ("Never", 0, False, InitOutcome.NEXT),
    ("Always", 1, False, InitOutcome.RESTART), ("OnFailure", 1, False, InitOutcome.RESTART),
    ("Never", 1, False, InitOutcome.POD_FAILED),
    ("Never", 0, True, InitOutcome.RESTART), ("Never", 1, True, InitOutcome.RESTART),
])
def test_init_container_outcome(policy: str, exit_code: int, sidecar: bool, outcome: InitOutcome) -> None:
    assert init_container_outcome(policy, exit_code, sidecar=sidecar) is outcome


@pytest.mark.parametrize(("policy", "exits", "fate"), [
    ("Always", {"api": 0}, PodFate(("api",), None)),
    ("Always", {"api": 1, "side": None}, PodFate(("api",), None)),
    ("OnFailure", {"api": 0}, PodFate((), "Succeeded")),
    ("OnFailure", {"api": 2}, PodFate(("api",), None)),
    ("OnFailure", {"api": 0, "side": None}, PodFate((), None)),  # the other one still runs
    ("OnFailure", {"api": 0, "side": 1}, PodFate(("side",), None)),
    ("Never", {"api": 0}, PodFate((), "Succeeded")),
    ("Never", {"api": 1}, PodFate((), "Failed")),
    ("Never", {"api": 0, "side": 1}, PodFate((), "Failed")),
    ("Never", {"api": 0, "side": None}, PodFate((), None)),
    ("Never", {}, PodFate((), None)),
])
def test_pod_fate(policy: str, exits: dict[str, int | None], fate: PodFate) -> None:
    assert pod_fate(policy, exits) == fate
