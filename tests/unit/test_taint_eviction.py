"""Toleration matching and when a pod must leave a NoExecute-tainted node."""

from __future__ import annotations

import math

import pytest

from controlplane.api.taints import tolerates
from controlplane.api.v1 import core_pb2
from controlplane.controllers.tainteviction.eviction import NOW, TaintSince, eviction_deadline

UR = "node.kubernetes.io/unreachable"
NR = "node.kubernetes.io/not-ready"


def taint(key: str = UR, value: str = "", effect: str = "NoExecute") -> core_pb2.Taint:
    return core_pb2.Taint(key=key, value=value, effect=effect)


def tol(key: str = "", operator: str = "", value: str = "", effect: str = "",
        seconds: int | None = None) -> core_pb2.Toleration:
    toleration = core_pb2.Toleration(key=key, operator=operator, value=value, effect=effect)
    if seconds is not None:
        toleration.toleration_seconds = seconds
    return toleration


@pytest.mark.parametrize(("toleration", "the_taint", "expected"), [
    (tol(operator="Exists"), taint(), True),  # empty key with Exists: everything
    (tol(key=UR, operator="Exists"), taint(), True),
    (tol(key=UR, operator="Exists", effect="NoSchedule"), taint(), False),
    (tol(key=NR, operator="Exists"), taint(), False),
    (tol(key="gpu", value="yes"), taint("gpu", "yes"), True),  # no operator means Equal
    (tol(key="gpu", operator="Equal", value="no"), taint("gpu", "yes"), False),
    (tol(key="gpu", operator="Exists"), taint("gpu", "yes"), True),
    (tol(key="gpu", operator="Lt", value="yes"), taint("gpu", "yes"), False),
])
def test_toleration_matching(toleration: core_pb2.Toleration, the_taint: core_pb2.Taint, expected: bool) -> None:
    assert tolerates(toleration, the_taint) is expected


T0 = 1_000_000.0


@pytest.mark.parametrize(("taints", "tolerations", "created", "expected"), [
    ([TaintSince(taint(), T0)], [], T0 - 60, NOW),  # not tolerated: at once
    ([TaintSince(taint(), T0)], [tol(key=UR, operator="Exists", effect="NoExecute", seconds=300)], T0 - 60, T0 + 300),
    ([TaintSince(taint(), T0)], [tol(key=UR, operator="Exists")], T0 - 60, None),  # no seconds: stays for good
    ([TaintSince(taint(), T0)], [tol(key=UR, operator="Exists", seconds=0)], T0 - 60, NOW),
    ([TaintSince(taint(), T0)], [tol(key=UR, operator="Exists", seconds=-5)], T0 - 60, NOW),
    # a pod that arrives on an already tainted node gets its whole toleration
    ([TaintSince(taint(), T0)], [tol(key=UR, operator="Exists", seconds=300)], T0 + 100, T0 + 400),
    # two taints: the earliest deadline
    ([TaintSince(taint(), T0), TaintSince(taint("gpu"), T0 + 10)],
     [tol(key=UR, operator="Exists", seconds=300), tol(key="gpu", operator="Exists", seconds=30)], T0 - 60, T0 + 40),
    # one of two taints untolerated: at once
    ([TaintSince(taint(), T0), TaintSince(taint("gpu"), T0)], [tol(key=UR, operator="Exists", seconds=300)],
     T0 - 60, NOW),
    # the first matching toleration is the one that counts
    ([TaintSince(taint(), T0)], [tol(operator="Exists"), tol(key=UR, operator="Exists", seconds=10)], T0 - 60, None),
    ([TaintSince(taint(), T0)], [tol(key=UR, operator="Exists", seconds=10), tol(operator="Exists")], T0 - 60, T0 + 10),
    # NoSchedule taints are not the eviction's business
    ([TaintSince(taint(effect="NoSchedule"), T0)], [], T0 - 60, None),
    ([], [], T0, None),
])
def test_eviction_deadline(taints: list[TaintSince], tolerations: list[core_pb2.Toleration], created: float,
                           expected: float | None) -> None:
    assert eviction_deadline(taints, tolerations, created) == expected


def test_now_is_before_any_time() -> None:
    assert NOW < 0 and math.isinf(NOW)
