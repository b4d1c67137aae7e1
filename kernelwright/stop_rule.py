"""When a timed or sampled loop has measured enough: the one stop rule of every benchmark loop.

A loop runs until it has made at least `min_calls` calls AND spent at least `min_seconds`, so both
fast kernels (many calls) and slow ones (enough seconds) give stable figures; `max_seconds` caps a
loop whose calls are so slow that `min_calls` would take too long, but never before
FEWEST_CALLS_AT_CAP calls, because a median of fewer says nothing.

Level 0: imports nothing from kernelwright, so the sandbox's worker and the profiler's child can
both use it without pulling in each other.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

FEWEST_CALLS_AT_CAP = 5


def enough(
    calls: int,
    elapsed_s: float,
    *,
    min_calls: int,
    min_seconds: float,
    max_seconds: float,
    fewest_calls_at_cap: int = FEWEST_CALLS_AT_CAP,
) -> bool:
    """True when a loop that has made `calls` calls in `elapsed_s` seconds should stop."""
    if calls >= min_calls and elapsed_s >= min_seconds:
        return True
    return elapsed_s >= max_seconds and calls >= fewest_calls_at_cap


def calls_until_enough(*, min_calls: int, min_seconds: float, max_seconds: float) -> Iterator[int]:
    """0, 1, 2, ... for a loop that makes one call per step, until `enough` says stop."""
    started = time.perf_counter()
    calls = 0
    while not enough(
        calls,
        time.perf_counter() - started,
        min_calls=min_calls,
        min_seconds=min_seconds,
        max_seconds=max_seconds,
    ):
        yield calls
        calls += 1
