"""Each score, to kube-scheduler's integer (cases from its own plugin tests where they exist)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from controlplane.scheduler import scores


def _a(*values: int) -> np.ndarray:  # type: ignore[type-arg]
    return np.array(values, dtype=np.int64)


@pytest.mark.parametrize(("alloc_cpu", "alloc_memory", "used_cpu", "used_memory", "expected"), [
    # kube-scheduler's "nothing scheduled, resources requested, differently sized nodes"
    ((4000, 6000), (10000, 10000), (3000, 3000), (5000, 5000), (37, 50)),
    ((4000, 4000), (10000, 10000), (0, 0), (0, 0), (100, 100)),
    ((4000,), (10000,), (4000,), (10000,), (0,)),
    ((4000,), (10000,), (5000,), (5000,), (25,)),  # over on cpu: 0 for cpu, 50 for memory
    ((0,), (10000,), (100,), (5000,), (50,)),  # a node without cpu: memory alone decides
    ((0,), (0,), (100,), (100,), (0,)),
])
def test_least_allocated(alloc_cpu: tuple[int, ...], alloc_memory: tuple[int, ...], used_cpu: tuple[int, ...],
                         used_memory: tuple[int, ...], expected: tuple[int, ...]) -> None:
    got = scores.least_allocated(_a(*alloc_cpu), _a(*alloc_memory), _a(*used_cpu), _a(*used_memory))
    assert got.tolist() == list(expected)


@pytest.mark.parametrize(("alloc_cpu", "alloc_memory", "used_cpu", "used_memory", "expected"), [
    # kube-scheduler's "nothing scheduled, resources requested, differently sized nodes"
    ((4000, 6000), (10000, 10000), (3000, 3000), (5000, 5000), (87, 100)),
    ((10000,), (20000,), (3000,), (5000,), (97,)),  # fractions 0.3 and 0.25
    ((4000,), (10000,), (6000,), (5000,), (75,)),  # a fraction over 1 counts as 1
    ((0,), (10000,), (100,), (9000,), (100,)),  # one resource: no deviation
])
def test_balanced_allocation(alloc_cpu: tuple[int, ...], alloc_memory: tuple[int, ...], used_cpu: tuple[int, ...],
                             used_memory: tuple[int, ...], expected: tuple[int, ...]) -> None:
    got = scores.balanced_allocation(_a(*alloc_cpu), _a(*alloc_memory), _a(*used_cpu), _a(*used_memory))
    assert got.tolist() == list(expected)


@pytest.mark.parametrize(("raw", "reverse", "expected"), [
    ((0, 5, 10), False, (0, 50, 100)),
    ((0, 5, 10), True, (100, 50, 0)),
    ((3, 7), False, (42, 100)),
    ((0, 0), False, (0, 0)),
    ((0, 0), True, (100, 100)),
])
def test_default_normalize(raw: tuple[int, ...], reverse: bool, expected: tuple[int, ...]) -> None:
    assert scores.default_normalize(_a(*raw), reverse=reverse).tolist() == list(expected)


def test_spread_counts_are_weighted_by_the_number_of_domains_and_reversed() -> None:
    counts = _a(0, 1, 2)
    raw = scores.spread_raw(counts, np.array([True, True, True]), 3)
    weight = math.log(5)
    assert raw.tolist() == [round(0 * weight + 2), round(1 * weight + 2), round(2 * weight + 2)] == [2, 4, 5]
    assert scores.spread_normalize(raw).tolist() == [100, 60, 40]


def test_spread_gives_every_node_100_when_none_runs_a_matching_pod_and_ignores_unlabelled_ones() -> None:
    raw = scores.spread_raw(_a(0, 0, 4), np.array([True, True, False]), 3)
    assert raw.tolist() == [2, 2, 0]
    assert scores.spread_normalize(_a(0, 0)).tolist() == [100, 100]


def test_spread_adds_the_zone_constraint_for_nodes_with_a_zone() -> None:
    raw = scores.spread_raw(_a(1, 0), np.array([True, True]), 2, zone_counts=_a(3, 0),
                            has_zone=np.array([True, False]), zone_domains=2)
    assert raw.tolist() == [round(1 * math.log(4) + 2 + 3 * math.log(4) + 4), 2]


@pytest.mark.parametrize(("value", "rounded"), [(2.5, 3), (3.5, 4), (2.4999999999999996, 2), (0.0, 0), (7.49, 7)])
def test_rounding_is_gos_half_away_from_zero(value: float, rounded: int) -> None:
    assert scores.round_half_away(np.array([value])).tolist() == [rounded]
