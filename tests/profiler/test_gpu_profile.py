"""On an NVIDIA GPU: profile three real kernels (memory-bound elementwise, reduction, GEMM) end to end.
Skipped elsewhere; scripts/gpu-check runs these and 40-profiler.sh captures the fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kernelwright.contracts import Candidate, Profile, Status, Verdict
from kernelwright.kernelbench.loader import load_task
from kernelwright.profiler.ncu import NcuConfig, ncu_status
from kernelwright.profiler.profile import Profiler, ProfilerConfig
from kernelwright.sandbox.config import SandboxConfig
from kernelwright.sandbox.evaluate import Sandbox

CASES = Path(__file__).parent / "gpu_cases"
pytestmark = pytest.mark.gpu
# A light protocol and one ncu pass per kernel: these tests check the profiler, not the statistics.
QUICK = SandboxConfig(trials=2, shape_trial=False, timing_min_calls=20, timing_min_seconds=0.3)
PROFILER = ProfilerConfig(ncu=NcuConfig(calls=1, warmup_calls=2, timeout_s=90), power_min_seconds=1.0)


@pytest.fixture(scope="module")
def profiled() -> Iterator[dict[str, tuple[Verdict, Profile]]]:
    results: dict[str, tuple[Verdict, Profile]] = {}
    with Sandbox(QUICK) as sandbox:
        for name in ("relu", "sum", "gemm"):
            task = load_task(CASES / f"{name}_task.py")
            candidate = Candidate(source=(CASES / f"{name}_candidate.py").read_text())
            verdict = sandbox(task, candidate)
            assert verdict.status in (Status.ok, Status.suspicious), f"{name}: {verdict.message}"
            results[name] = (verdict, Profiler(PROFILER)(task, candidate, verdict))
    yield results


@pytest.mark.parametrize("name", ["relu", "sum", "gemm"])
def test_real_profile_of_three_kernels(profiled: dict, name: str) -> None:
    verdict, profile = profiled[name]
    assert profile.gpu is not None and profile.gpu.uuid
    assert profile.roofline is not None
    assert len(profile.digest.splitlines()) <= 40
    if ncu_status().usable:
        ncu_kernels = {m.kernel for m in profile.metrics if m.source == "ncu"}
        assert ncu_kernels == set(verdict.kernel_names), "ncu must profile exactly the candidate's kernels"
    else:
        assert any("ncu" in u or "Nsight" in u for u in profile.unavailable)
    assert any(m.source == "nvml" and m.name == "energy_per_call_mj" for m in profile.metrics)


def test_real_elementwise_kernel_is_memory_bound(profiled: dict) -> None:
    _, profile = profiled["relu"]
    assert profile.roofline is not None and profile.roofline.bound == "memory"
    assert profile.roofline.pct_peak_bandwidth > 40
    assert "memory-bound" in profile.digest
