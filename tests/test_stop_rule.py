"""The stop rule of timed loops: both minimums, or the time cap once a median means something."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

import pytest

import kernelwright.stop_rule
from kernelwright.stop_rule import FEWEST_CALLS_AT_CAP, enough

RULE: dict[str, Any] = {"min_calls": 100, "min_seconds": 1.0, "max_seconds": 20.0}


@pytest.mark.parametrize(
    ("calls", "elapsed_s", "stop"),
    [
        (100, 1.0, True),  # both minimums reached
        (5000, 1.0, True),
        (99, 5.0, False),  # fast enough in time, too few calls
        (100, 0.99, False),  # enough calls, too little time (a fast kernel)
        (0, 0.0, False),
        (5, 20.0, True),  # slow kernel: the cap stops it with a usable median
        (4, 60.0, False),  # but never with fewer than FEWEST_CALLS_AT_CAP calls
        (50, 19.99, False),
    ],
)
def test_stop_rule(calls: int, elapsed_s: float, stop: bool) -> None:
    assert enough(calls, elapsed_s, **RULE) is stop


def test_the_floor_under_the_cap_can_be_chosen() -> None:
    assert FEWEST_CALLS_AT_CAP == 5
    assert enough(1, 30.0, **RULE, fewest_calls_at_cap=1)
    assert not enough(9, 30.0, **RULE, fewest_calls_at_cap=10)


@pytest.mark.parametrize(
    ("call_ms", "calls_made"),
    [
        (1, 1000),  # fast: min_seconds binds
        (20, 100),  # moderate: min_calls binds
        (3000, 7),  # slow: min_calls would take 300 s; the first call past the 20 s cap stops it
    ],
)
def test_a_loop_driven_by_the_rule(call_ms: int, calls_made: int) -> None:
    calls = 0
    while not enough(calls, calls * call_ms / 1000, **RULE):
        calls += 1
    assert calls == calls_made


def test_stop_rule_is_level_zero() -> None:
    tree = ast.parse(Path(kernelwright.stop_rule.__file__).read_text())
    imported = [
        name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for name in ([a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""])
    ]
    assert not [m for m in imported if m.startswith("kernelwright")]


def test_calls_until_enough_counts_calls_until_the_rule_stops_the_loop() -> None:
    from kernelwright.stop_rule import calls_until_enough

    assert list(calls_until_enough(min_calls=4, min_seconds=0.0, max_seconds=10.0)) == [0, 1, 2, 3]
    # A time minimum keeps the loop going past min_calls.
    import time

    started = time.perf_counter()
    steps = [time.sleep(0.01) for _ in calls_until_enough(min_calls=1, min_seconds=0.05, max_seconds=10.0)]
    assert len(steps) >= 4 and time.perf_counter() - started >= 0.05
