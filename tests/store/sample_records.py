"""Contract records for the store tests, shaped like what the sandbox and profiler emit on a GPU.

These are data fixtures, not doubles: the store only ever sees records, and the fields used here
(statuses, timings, speedups, metric names such as ncu's `gpu__time_duration.sum`) follow the
contracts and NVIDIA's documented metric names."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from kernelwright.contracts import (
    ArgSpec,
    Attempt,
    GPUIdentity,
    KernelResources,
    LLMCall,
    Metric,
    Profile,
    Status,
    Task,
    TimingStats,
    TrialResult,
    Verdict,
)

RELU_SOURCE = '''"""ReLU."""
import torch


class Model(torch.nn.Module):
    def forward(self, x):
        return torch.relu(x)


def get_inputs():
    return [torch.randn(4096, 4096)]


def get_init_inputs():
    return []
'''


def make_task(name: str = "19_ReLU", level: int = 1, source: str = RELU_SOURCE) -> Task:
    return Task(
        name=name,
        level=level,
        task_id=int(name.split("_")[0]) if name.split("_")[0].isdigit() else None,
        path=f"/suite/level{level}/{name}.py",
        source=source,
        source_sha256=hashlib.sha256(source.encode()).hexdigest(),
        description="ReLU.",
        inputs=[ArgSpec(kind="tensor", shape=[4096, 4096], dtype="float32")],
        init_args=[],
        param_count=0,
        atol=1e-5,
    )


def timing(median_ms: float) -> TimingStats:
    return TimingStats(
        median_ms=median_ms, iqr_ms=median_ms * 0.02, cv=0.01, trials=50, min_ms=median_ms * 0.97
    )


def make_verdict(
    status: Status | str = Status.ok, median_ms: float | None = 1.0, eager_ms: float = 2.0
) -> Verdict:
    measured = median_ms is not None
    return Verdict(
        status=Status(status),
        message=f"{status}: verdict for the store tests",
        trials=[
            TrialResult(trial=i, seed=100 + i, passed=True, max_abs_error=1e-7, numel=1 << 24)
            for i in range(3)
        ]
        if measured
        else [],
        candidate_timing=timing(median_ms) if measured else None,
        eager_timing=timing(eager_ms) if measured else None,
        speedup_vs_eager=eager_ms / median_ms if measured else None,
        resources=[KernelResources(name="relu_kernel", arch="sm_90", registers_per_thread=16)],
        kernel_names=["relu_kernel"],
        device="cuda" if measured else "cpu",
        gpu_name="NVIDIA H100 80GB HBM3" if measured else None,
        elapsed_s={"compile": 0.2, "verify": 0.5, "time": 1.1},
    )


def make_profile() -> Profile:
    return Profile(
        gpu=GPUIdentity(
            name="NVIDIA H100 80GB HBM3", sm_count=132, memory_mib=81559, compute_capability="9.0"
        ),
        metrics=[
            Metric(
                source="ncu", name="gpu__time_duration.sum", value=812.5, unit="usecond", kernel="relu_kernel"
            ),
            Metric(
                source="ncu", name="dram__throughput.avg.pct_of_peak_sustained_elapsed", value=87.1, unit="%"
            ),
        ],
        occupancy_limiter="registers",
        digest="memory-bound at 87% of peak DRAM bandwidth",
    )


def make_attempt(
    run_id: int,
    *,
    task_key: str = "level1/19_ReLU",
    status: Status | str = Status.ok,
    median_ms: float | None = 1.0,
    gpu_name: str = "NVIDIA H100 80GB HBM3",
    round_: int = 0,
    candidate_index: int = 0,
    parent_attempt_id: int | None = None,
    profile: Profile | None = None,
) -> Attempt:
    return Attempt(
        run_id=run_id,
        task_key=task_key,
        round=round_,
        candidate_index=candidate_index,
        mode="optimize" if round_ else "seed",
        parent_attempt_id=parent_attempt_id,
        code=f"# candidate r{round_} c{candidate_index}\nCUDA_SOURCE = r'''...'''\n",
        verdict=make_verdict(status, median_ms),
        profile=profile,
        gpu_name=gpu_name,
        created_at=datetime(2026, 11, 27, 12, 0, round_ % 60, candidate_index, tzinfo=UTC),
    )


def make_llm_call(run_id: int, role: str = "coder", cost_usd: float = 0.01) -> LLMCall:
    return LLMCall(
        run_id=run_id,
        role=role,  # type: ignore[arg-type]
        model="gpt-test",
        prompt='[{"role": "user", "content": "write a relu kernel"}]',
        response="CUDA_SOURCE = ...",
        tokens_in=1200,
        tokens_out=300,
        latency_s=2.5,
        cost_usd=cost_usd,
        created_at=datetime(2026, 11, 27, 12, 0, tzinfo=UTC),
    )
