"""The timing protocol's parts on the CPU: statistics, input rotation, the timer, and (through the
sandbox) interleaved candidate/reference timing with spot checks."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest
import torch

from kernelwright.contracts import Candidate, Status
from kernelwright.kernelbench import find_task
from kernelwright.sandbox.config import SandboxConfig
from kernelwright.sandbox.evaluate import Sandbox
from kernelwright.sandbox.isolation.worker import WorkerClient
from kernelwright.sandbox.judge.timing_check import cross_check, overhead_of, timing_stats
from kernelwright.sandbox.timer import Timer, l2_flush_buffer

HACKS = Path(__file__).parent / "hacks"


def test_timing_stats_median_iqr_cv() -> None:
    samples = [1.0, 2.0, 3.0, 4.0, 100.0]
    stats = timing_stats(samples)
    assert stats.median_ms == 3.0
    assert stats.iqr_ms == pytest.approx(2.0)  # inclusive quartiles 2.0 and 4.0
    assert stats.cv == pytest.approx(statistics.pstdev(samples) / statistics.fmean(samples))
    assert (stats.trials, stats.min_ms) == (5, 1.0)
    single = timing_stats([2.5])
    assert (single.median_ms, single.iqr_ms, single.cv) == (2.5, 0.0, 0.0)


def test_overhead_is_wall_minus_reported_of_the_null_calls() -> None:
    median, iqr = overhead_of([0.30, 0.20, 0.25, 0.22, 0.40], [0.01, 0.0, 0.01, 0.02, 0.0])
    assert median == pytest.approx(0.24) and iqr > 0


def test_cross_check_accepts_honest_times_and_delays() -> None:
    overhead = (0.10, 0.01)
    honest = [1.0 + 0.01 * (k % 5) for k in range(50)]
    walls = [t + 0.10 + (5.0 if k % 7 == 0 else 0.0) for k, t in enumerate(honest)]  # delays only add
    check = cross_check(honest, walls, overhead, spot_checks=6)
    assert check.consistent, check
    assert (check.calls, check.spot_checks) == (50, 6)


def test_cross_check_refuses_times_below_what_the_judge_saw() -> None:
    overhead = (0.10, 0.01)
    true = [1.0] * 50
    walls = [t + 0.10 for t in true]
    forged = [t / 3 for t in true]
    check = cross_check(forged, walls, overhead, spot_checks=6)
    assert not check.consistent
    assert check.reported_median_ms == pytest.approx(1 / 3) and check.observed_low_ms == pytest.approx(1.0)
    # A single call reported longer than its own observed wall is impossible for an honest runner.
    assert not cross_check([2.0] + true[1:], walls, overhead, spot_checks=1).consistent


def test_timer_on_cpu_measures_the_call() -> None:
    import time as time_module

    timer = Timer(torch.device("cpu"))
    assert timer.flush is None and l2_flush_buffer(torch.device("cpu")) is None
    ms, out = timer(lambda a: (time_module.sleep(0.02), a * 2)[1], [torch.ones(2)])
    assert ms >= 20.0
    assert torch.equal(out, torch.full((2,), 2.0))


def test_sandbox_times_candidate_and_reference(worker: WorkerClient) -> None:
    config = SandboxConfig(device="cpu", allow_torch=True, timing_min_calls=30, timing_min_seconds=0.0,
                           warmup_calls=2, memory_limit_gb=8)  # fmt: skip
    task = find_task(str(HACKS / "tasks" / "matmul.py"))
    source = (
        "import torch\nclass ModelNew(torch.nn.Module):\n    def forward(self, a, b):\n        return a @ b\n"
    )
    verdict = Sandbox(config, worker=worker)(task, Candidate(source=source))
    assert verdict.status == Status.ok, verdict.message
    assert verdict.candidate_timing.trials == verdict.eager_timing.trials == 30  # type: ignore[union-attr]
    assert verdict.candidate_timing.median_ms > 0  # type: ignore[union-attr]
    assert verdict.speedup_vs_eager == pytest.approx(
        verdict.eager_timing.median_ms / verdict.candidate_timing.median_ms  # type: ignore[union-attr]
    )
    assert {"load", "verify", "time", "worker_evaluation"} <= set(verdict.elapsed_s)
    check = verdict.timing_check
    assert check is not None and check.consistent and check.calls == 30 and check.spot_checks >= 1


def test_timing_respects_min_seconds(worker: WorkerClient) -> None:
    config = SandboxConfig(device="cpu", allow_torch=True, timing_min_calls=5, timing_min_seconds=0.3,
                           warmup_calls=1, memory_limit_gb=8)  # fmt: skip
    task = find_task(str(HACKS / "tasks" / "relu.py"))
    verdict = Sandbox(config, worker=worker)(task, Candidate(source=(HACKS / "honest_relu.py").read_text()))
    timing = verdict.candidate_timing
    assert timing is not None and timing.trials > 5  # kept going until 0.3 s had passed
    assert verdict.elapsed_s["time"] >= 0.3


def test_a_pointer_cache_is_caught_by_the_timing_spot_checks(worker: WorkerClient) -> None:
    """The correctness stage may miss the cache (fresh inputs rarely land on a cached address); the
    timing loop, whose inputs are fresh every call, often in a reused allocation, cannot."""
    config = SandboxConfig(device="cpu", allow_torch=True, skip_guard=True, trials=5, shape_trial=False,
                           timing_min_calls=20, timing_min_seconds=0.0, timing_spot_checks=20,
                           memory_limit_gb=8)  # fmt: skip
    task = find_task(str(HACKS / "tasks" / "relu.py"))
    verdict = Sandbox(config, worker=worker)(
        task, Candidate(source=(HACKS / "cache_by_pointer.py").read_text())
    )
    assert (verdict.status, verdict.rule) in {
        (Status.incorrect, "timing-spot-check"),
        (Status.incorrect, "mismatch"),
        (Status.incorrect, "nondeterministic"),
        (Status.rejected, "output-reused"),
    }, verdict.message


RETIMED = {"device": "cpu", "allow_torch": True, "skip_guard": True, "trials": 2, "shape_trial": False,
           "timing_min_calls": 10, "timing_min_seconds": 0.0, "warmup_calls": 1, "memory_limit_gb": 8}  # fmt: skip


def test_a_loop_the_judge_clock_disagrees_with_is_timed_again_and_only_a_confirmed_loop_is_kept(
    worker: WorkerClient,
) -> None:
    """A burst of load (here: a first loop whose times are forged) costs a second loop, not an
    honest candidate; the times kept are the loop the judge's clock confirmed (about the 4 ms sleep)."""
    task = find_task(str(HACKS / "tasks" / "relu.py"))
    verdict = Sandbox(SandboxConfig(**RETIMED), worker=worker)(
        task, Candidate(source=(HACKS / "forge_first_loop.py").read_text())
    )
    assert verdict.status == Status.ok, verdict.message
    assert "timed again after loop 1" in verdict.message
    check, timing = verdict.timing_check, verdict.candidate_timing
    assert check is not None and check.consistent and timing is not None
    assert timing.median_ms >= 4.0 and check.reported_median_ms == timing.median_ms


def test_a_runner_that_misreports_every_loop_is_refused_after_all_of_them(worker: WorkerClient) -> None:
    task = find_task(str(HACKS / "tasks" / "relu.py"))
    verdict = Sandbox(SandboxConfig(**RETIMED), worker=worker)(
        task, Candidate(source=(HACKS / "forge_timing.py").read_text())
    )
    assert (verdict.status, verdict.rule) == (Status.rejected, "timing-mismatch"), verdict.message
    assert "in each of 3 timed loops" in verdict.message
    assert verdict.timing_check is not None and not verdict.timing_check.consistent
