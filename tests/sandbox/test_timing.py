"""The timing protocol's parts on the CPU: statistics, input rotation, the timer, and (through the
sandbox) interleaved candidate/reference timing with spot checks."""

from __future__ import annotations

import random
import statistics
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from kernelwright.contracts import Candidate, Status
from kernelwright.kernelbench import find_task
from kernelwright.sandbox.config import SandboxConfig
from kernelwright.sandbox.evaluate import Sandbox
from kernelwright.sandbox.isolation.worker import WorkerClient
from kernelwright.sandbox.timing import InputSet, Timer, l2_flush_buffer, timing_stats

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


def test_input_sets_get_new_values_in_the_same_allocation() -> None:
    x, idx = torch.randn(32), torch.arange(4)
    pool = InputSet.of([x, idx, 3])
    rng = random.Random(1)
    before = x.clone()
    ptr = x.data_ptr()
    first = pool.refresh(rng)[0].clone()
    second = pool.refresh(rng)[0].clone()
    assert x.data_ptr() == ptr  # same allocation...
    assert not torch.equal(first, second) and not torch.equal(first, before)  # ...new values each call
    assert torch.equal(idx, torch.arange(4))  # integer inputs (indices) keep their values
    ratio = first / before
    assert torch.allclose(ratio, ratio[0].expand_as(ratio))  # a uniform rescale of the base values


def test_timer_on_cpu_measures_the_call() -> None:
    import time as time_module

    timer = Timer(torch.device("cpu"))
    assert timer.flush is None and l2_flush_buffer(torch.device("cpu")) is None
    ms, out = timer(lambda a: (time_module.sleep(0.02), a * 2)[1], [torch.ones(2)])
    assert ms >= 20.0
    assert torch.equal(out, torch.full((2,), 2.0))


@pytest.fixture(scope="module")
def worker() -> Iterator[WorkerClient]:
    client = WorkerClient(None)
    client.start()
    yield client
    client.close()


def test_sandbox_times_candidate_and_reference_interleaved(worker: WorkerClient) -> None:
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
    assert {"worker_load", "worker_run", "verify", "time"} <= set(verdict.elapsed_s)


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
    timing loop, whose inputs change value in place every call, cannot."""
    config = SandboxConfig(device="cpu", allow_torch=True, skip_guard=True, trials=5, shape_trial=False,
                           timing_min_calls=20, timing_min_seconds=0.0, timing_spot_checks=20,
                           memory_limit_gb=8)  # fmt: skip
    task = find_task(str(HACKS / "tasks" / "relu.py"))
    verdict = Sandbox(config, worker=worker)(
        task, Candidate(source=(HACKS / "cache_by_pointer.py").read_text())
    )
    assert verdict.status == Status.incorrect
    assert verdict.rule in {"timing-spot-check", "mismatch", "nondeterministic"}
