"""Figures the benchmarks report, computed the same way in each (bench/*_bench.py)."""

from __future__ import annotations

from collections.abc import Sequence


def percentile(values: Sequence[float], fraction: float) -> float:
    """The value at `fraction` of the sorted values (index `int(fraction * n)`, the last one at most)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]
