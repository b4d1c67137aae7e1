"""Speed of light from the least work the task needs (inputs + outputs + parameters once, the task's
FLOPs), with the DRAM traffic ncu measured kept beside it as a labelled figure: a three-pass softmax
that saturates DRAM moves twice the bytes it needs and must not read as solved (the loop stops at
LoopConfig.sol_target_pct). Real bundled tasks; ncu figures per call as the profiler aggregates them."""

from __future__ import annotations

import pytest

from kernelwright.agents.loop_config import LoopConfig
from kernelwright.contracts import GPUIdentity, Profile, Status, TimingStats, TrialResult, Verdict
from kernelwright.gpu.specs import lookup_spec
from kernelwright.kernelbench import find_task
from kernelwright.profiler.ncu import NcuRun
from kernelwright.profiler.profile import ProfileParts, build_profile
from kernelwright.profiler.roofline import speed_of_light
from kernelwright.profiler.static import StaticAnalysis

H100 = GPUIdentity(name="NVIDIA H100 80GB HBM3", sm_count=132, compute_capability="9.0")
SPEC = lookup_spec(H100.name)
SOFTMAX_BYTES = 4096 * 65536 * 4  # level1/6_Softmax: one float32 input, one output of the same size
PEAK_BYTES_PER_MS = 3350e9 / 1e3


def _verdict(ms: float, output_numel: int | None = None) -> Verdict:
    trials = [TrialResult(trial=0, seed=7, passed=True, numel=output_numel)] if output_numel else []
    timing = TimingStats(median_ms=ms, iqr_ms=ms / 100, cv=0.01, trials=100)
    return Verdict(
        status=Status.ok, candidate_timing=timing, device="cuda", gpu_name=H100.name, trials=trials
    )


def _softmax_profile(read_passes: int) -> Profile:
    """A softmax kernel that reads its input `read_passes` times and writes the output once, timed at
    90% of peak DRAM bandwidth for the traffic it really causes."""
    task = find_task("level1/6_Softmax")
    read, written = read_passes * SOFTMAX_BYTES, SOFTMAX_BYTES
    ms = (read + written) / (0.9 * PEAK_BYTES_PER_MS)
    figures = {
        "duration_ms": ms,
        "launches_per_call": 1.0,
        "dram_read_bytes": read,
        "dram_write_bytes": written,
    }
    parts = ProfileParts(
        gpu=H100,
        spec=SPEC,
        static=StaticAnalysis(arch="sm_90"),
        ncu=NcuRun(ok=True, kernels={"softmax_kernel": figures}, launches=1, output_bytes=SOFTMAX_BYTES),
    )
    return build_profile(task, _verdict(ms), parts)


def test_three_pass_softmax_at_full_bandwidth_is_not_solved() -> None:
    profile = _softmax_profile(read_passes=3)
    roof = profile.roofline
    assert roof is not None and SPEC is not None
    assert roof.bytes_moved == 2 * SOFTMAX_BYTES  # input + output once, not the measured 4x
    assert roof.sol_pct == pytest.approx(45.0, abs=0.1)
    assert roof.sol_pct < LoopConfig().sol_target_pct
    assert roof.bound == "memory"  # it does saturate DRAM: the advice is "move fewer bytes"
    assert "SOL 45%" in profile.digest
    assert (
        "Measured DRAM traffic (ncu, not used for SOL): 4295 MB per call = 2.00x the minimal"
        in profile.digest
    )
    assert "90% of peak bandwidth" in profile.digest
    figures = {m.name: m.value for m in profile.metrics if m.kernel is None}
    assert figures["traffic_over_minimal"] == 2.0 and figures["minimal_bytes"] == 2 * SOFTMAX_BYTES
    assert figures["measured_dram_pct_of_peak"] == pytest.approx(90.0)


def test_one_pass_softmax_at_the_same_bandwidth_reaches_the_target() -> None:
    profile = _softmax_profile(read_passes=1)
    assert profile.roofline is not None
    assert profile.roofline.sol_pct == pytest.approx(90.0, abs=0.1)
    assert profile.roofline.sol_pct >= LoopConfig().sol_target_pct
    assert not profile.roofline.estimated  # sizes measured by the profiled child, datasheet peaks
    assert "1.00x the minimal" in profile.digest


def test_output_size_falls_back_to_the_judges_element_count() -> None:
    assert SPEC is not None
    task = find_task("level1/6_Softmax")
    ms = 2 * SOFTMAX_BYTES / PEAK_BYTES_PER_MS  # exactly the minimal bytes at peak
    sol = speed_of_light(task, _verdict(ms, output_numel=4096 * 65536), SPEC, {}, output_bytes=None)
    assert sol is not None
    assert sol.roofline.sol_pct == pytest.approx(100.0) and sol.roofline.estimated
    assert sol.traffic_line is None  # nothing measured, nothing claimed
    without = speed_of_light(task, _verdict(ms), SPEC, {}, output_bytes=None)
    assert without is not None and without.roofline.sol_pct == pytest.approx(50.0)
    assert "outputs unknown" in without.basis


def test_parameters_and_the_tasks_flops_count_toward_the_minimum() -> None:
    assert SPEC is not None
    task = find_task("level2/1_GEMM_Bias_ReLU")
    assert task.param_count and task.flops
    out_bytes = 8192 * 4096 * 4
    ms = task.flops / (SPEC.fp32_tflops * 1e12) * 1e3 / 0.5  # the task's FLOPs at half the FP32 peak
    sol = speed_of_light(task, _verdict(ms), SPEC, {}, output_bytes=out_bytes)
    assert sol is not None
    assert sol.roofline.bytes_moved == 8192 * 4096 * 4 + out_bytes + task.param_count * 4
    assert sol.roofline.pct_peak_compute == pytest.approx(50.0) and sol.roofline.bound == "compute"
    assert "parameters 67.13 MB" in sol.basis and "FLOPs: the task's FLOPS" in sol.basis
    # FLOPs the kernel executed are shown, never counted toward SOL.
    counted = {"k": {"ffma_thread_insts": 4 * task.flops}}
    with_counts = speed_of_light(task, _verdict(ms), SPEC, counted, output_bytes=out_bytes)
    assert with_counts is not None and with_counts.roofline.sol_pct == sol.roofline.sol_pct
    assert (
        with_counts.traffic_line is not None
        and "FP32 FLOPs executed (ncu SASS counts)" in with_counts.traffic_line
    )
