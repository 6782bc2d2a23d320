"""Timing and result rows shared by every layer's benchmarks (`smtjlab bench`, DESIGN §6)."""

from __future__ import annotations

import time
from collections.abc import Callable


def best_seconds(function: Callable[[], object], repeats: int = 5) -> float:
    """The fastest of `repeats` calls: the least disturbed by the rest of a noisy machine."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def result_row(
    name: str,
    value: float,
    unit: str,
    baseline: str,
    baseline_value: float,
    target: str,
    meets: bool,
) -> dict:
    """One benchmark result: a figure beside its same-run baseline, and the target's verdict."""
    return {
        "name": name,
        "value": float(f"{value:.4g}"),
        "unit": unit,
        "baseline": baseline,
        "baseline_value": float(f"{baseline_value:.4g}"),
        "ratio": round(value / baseline_value, 3) if baseline_value else None,
        "target": target,
        "meets_target": bool(meets),
    }
