"""Timing statistics, and the cross-check of the runner's self-measured call times against the wall
time the judge observed for the same calls.

For call k the judge observes W_k (operation sent -> reply read) and the runner reports t_k. Before the
candidate was loaded, the same runner answered null calls, so the judge knows the harness's own
overhead O (pipes, L2 flush, synchronise) from a process no candidate code had touched. An honest
runner has t_k ~ W_k - O; delays (scheduling, GC) only make W_k larger. So the check compares the
runner's median with the lower decile of W_k - O: the runner may claim at most TOLERANCE_FRACTION
less, minus a slack for the overhead's own spread. No call may report more time than was observed.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence

from kernelwright.contracts import Status, TimingCheck, TimingStats
from kernelwright.sandbox.failures import CheckFailed

TOLERANCE_FRACTION = 0.15
MIN_SLACK_MS = 0.02
SLACK_IQRS = 3.0
# Clock reads on the two sides are microseconds apart; a report this much over the wall still counts.
CLOCK_EPSILON_MS = 0.01


def timing_stats(samples_ms: Sequence[float]) -> TimingStats:
    """Median, interquartile range, coefficient of variation and count of per-call times."""
    median = statistics.median(samples_ms)
    if len(samples_ms) >= 2:
        q1, _, q3 = statistics.quantiles(samples_ms, n=4, method="inclusive")
        mean = statistics.fmean(samples_ms)
        cv = statistics.pstdev(samples_ms) / mean if mean > 0 else 0.0
    else:
        q1 = q3 = median
        cv = 0.0
    return TimingStats(
        median_ms=median, iqr_ms=q3 - q1, cv=cv, trials=len(samples_ms), min_ms=min(samples_ms)
    )


def _quantile(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(q * (len(ordered) - 1))))]


def overhead_of(null_walls_ms: Sequence[float], null_reported_ms: Sequence[float]) -> tuple[float, float]:
    """(median, IQR) of the harness overhead per call from the calibration's null calls."""
    overhead = [w - r for w, r in zip(null_walls_ms, null_reported_ms, strict=True)]
    stats = timing_stats(overhead)
    return stats.median_ms, stats.iqr_ms


def cross_check(
    reported_ms: Sequence[float],
    walls_ms: Sequence[float],
    overhead: tuple[float, float],
    spot_checks: int,
) -> TimingCheck:
    """The TimingCheck for one timed loop; consistent=False means the runner's times are not believed."""
    overhead_ms, overhead_iqr = overhead
    slack = max(MIN_SLACK_MS, SLACK_IQRS * overhead_iqr)
    reported = statistics.median(reported_ms)
    observed_low = _quantile([w - overhead_ms for w in walls_ms], 0.1)
    over_wall = any(r > w + CLOCK_EPSILON_MS for r, w in zip(reported_ms, walls_ms, strict=True))
    consistent = not over_wall and reported >= (1 - TOLERANCE_FRACTION) * observed_low - slack
    return TimingCheck(
        calls=len(reported_ms),
        spot_checks=spot_checks,
        reported_median_ms=reported,
        observed_low_ms=observed_low,
        overhead_ms=overhead_ms,
        overhead_iqr_ms=overhead_iqr,
        tolerance=(
            f"reported median >= {1 - TOLERANCE_FRACTION:.2f} x observed lower decile - {slack:.3f} ms, "
            "and no call reported longer than observed"
        ),
        consistent=consistent,
    )


def require_consistent(check: TimingCheck, loops: int = 1) -> None:
    """Refuses the runner's times; `loops` says how many timed loops all disagreed (the last is shown)."""
    if not check.consistent:
        each = f" in each of {loops} timed loops" if loops > 1 else ""
        raise CheckFailed(
            Status.rejected,
            "timing-mismatch",
            f"the runner reported {check.reported_median_ms:.4f} ms per call but the judge observed at "
            f"least {check.observed_low_ms:.4f} ms beyond the harness overhead{each} ({check.tolerance})",
        )
