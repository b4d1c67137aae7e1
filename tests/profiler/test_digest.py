"""The Profile and its digest: memory-bound reading from ncu figures, register-limited occupancy from
a real NVRTC compile, determinism, the 40-line cap, and one line for each missing source."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernelwright.contracts import Candidate, GPUIdentity, Status, TimingStats, TrialResult, Verdict
from kernelwright.gpu.specs import lookup_spec
from kernelwright.kernelbench.loader import load_task
from kernelwright.profiler.ncu import NcuRun, interpret_ncu_output, run_ncu
from kernelwright.profiler.profile import ProfileParts, Profiler, ProfilerConfig, build_profile
from kernelwright.profiler.roofline import roofline
from kernelwright.profiler.static import analyse_candidate

HERE = Path(__file__).parent
CASES = HERE / "gpu_cases"
RELU_BYTES = 16384 * 4096 * 4  # relu_task's input, and its output
H100 = GPUIdentity(name="NVIDIA H100 80GB HBM3", sm_count=132, compute_capability="9.0", memory_mib=81559)


def _timing(ms: float) -> TimingStats:
    return TimingStats(median_ms=ms, iqr_ms=ms * 0.01, cv=0.005, trials=30)


def _candidate(name: str) -> Candidate:
    return Candidate(source=(CASES / f"{name}_candidate.py").read_text())


@pytest.fixture(scope="module")
def relu_parts() -> tuple:
    task = load_task(CASES / "relu_task.py")
    run = interpret_ncu_output(
        (HERE / "fixtures" / "ncu_raw_documented_format_relu_h100.csv").read_text(), 0, 3
    )
    run.output_bytes = RELU_BYTES  # what the profiled child reports: one float32 output like the input
    parts = ProfileParts(
        gpu=H100, spec=lookup_spec(H100.name), static=analyse_candidate(_candidate("relu"), "sm_90"), ncu=run
    )
    verdict = Verdict(
        status=Status.ok,
        candidate_timing=_timing(0.1784),
        eager_timing=_timing(0.1831),
        speedup_vs_eager=0.1831 / 0.1784,
        kernel_names=["relu_kernel"],
        device="cuda",
        gpu_name=H100.name,
        trials=[TrialResult(trial=0, seed=1, passed=True, numel=RELU_BYTES // 4)],
    )
    return task, verdict, parts


def test_memory_bound_kernel_digest_says_memory_bound_with_dram_share(relu_parts: tuple) -> None:
    task, verdict, parts = relu_parts
    profile = build_profile(task, verdict, parts)
    assert profile.roofline is not None
    assert profile.roofline.bound == "memory" and not profile.roofline.estimated
    # Speed of light counts the task's minimal bytes (input + output once); ncu measured as much.
    assert profile.roofline.bytes_moved == 2 * RELU_BYTES
    assert profile.roofline.pct_peak_bandwidth == pytest.approx(
        100 * 2 * RELU_BYTES / 0.1784e-3 / 3350e9, rel=1e-3
    )
    digest = profile.digest
    assert "memory-bound; minimal bytes at 90% of peak bandwidth" in digest
    assert "Measured DRAM traffic (ncu, not used for SOL): 536.9 MB per call = 1.00x the minimal" in digest
    assert "dram_throughput = 90" in digest and "stall long_scoreboard share" in digest
    assert "eager 0.1831 ms (1.03x)" in digest
    assert "relu_kernel: 1 launch/call" in digest
    assert any(m.source == "ncu" and m.name == "dram_read_bytes" for m in profile.metrics)


def test_digest_is_deterministic_and_short(relu_parts: tuple) -> None:
    task, verdict, parts = relu_parts
    first, second = build_profile(task, verdict, parts), build_profile(task, verdict, parts)
    assert first.digest == second.digest
    assert len(first.digest.splitlines()) <= 40
    many = parts.model_copy(deep=True)
    assert many.ncu is not None
    many.ncu.kernels.update({f"k{i:02d}": {"duration_ms": 0.01, "launches_per_call": 1.0} for i in range(60)})
    many.unavailable = [f"source {i} missing" for i in range(40)]
    crowded = build_profile(task, verdict, many).digest
    assert len(crowded.splitlines()) == 40 and "lines cut" in crowded.splitlines()[-1]


def test_register_heavy_kernel_is_limited_by_registers_end_to_end() -> None:
    source = (HERE / "kernels" / "resource_mix.cu").read_text()
    only = source[source.index("// 240 live") : source.index("// 1024 threads")]
    candidate = Candidate(
        source=f'from kernelwright.sandbox.native import CudaModule\nSRC = r"""{only}"""\nK = CudaModule(SRC)\n'
    )
    task = load_task(CASES / "relu_task.py")
    profile = Profiler(ProfilerConfig(arch="sm_90", run_ncu=False, run_power=False))(
        task, candidate, Verdict(status=Status.ok)
    )
    assert profile.occupancy_limiter == "registers"
    assert "Occupancy limiter: registers (k_registers: 255 regs/thread" in profile.digest
    assert "k_registers theoretical occupancy = 12.5 %" in profile.digest
    static_regs = [m for m in profile.metrics if m.source == "static" and m.name == "registers_per_thread"]
    assert [m.value for m in static_regs] == [255.0]


def test_missing_ncu_is_one_line_and_the_profile_goes_on(
    relu_parts: tuple, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    task, verdict, parts = relu_parts
    monkeypatch.setenv("KERNELWRIGHT_NCU", str(tmp_path / "absent-ncu"))
    missing = run_ncu(
        "t.py", "c.py", ["relu_kernel"], ProfilerConfig().ncu, python="python3", workdir=str(tmp_path)
    )
    assert not missing.ok
    degraded = parts.model_copy(update={"ncu": missing, "unavailable": [missing.message]})
    digest = build_profile(task, verdict, degraded).digest
    ncu_lines = [ln for ln in digest.splitlines() if "Nsight Compute" in ln]
    assert len(ncu_lines) == 1 and ncu_lines[0].startswith("- ")
    # Speed of light needs no counter: the task's input and output sizes give the minimal bytes.
    assert "[minimal bytes: inputs 268.4 MB + outputs 268.4 MB; FLOPs: the task declares none" in digest
    assert "Measured DRAM traffic" not in digest
    assert "Roofline: memory-bound" in digest


def test_without_a_gpu_the_profiler_gives_static_figures_and_says_why() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this checks the no-GPU path")
    task = load_task(CASES / "gemm_task.py")
    profile = Profiler()(task, _candidate("gemm"), Verdict(status=Status.ok))
    assert profile.gpu is None and profile.roofline is None
    assert any(u.startswith("GPU: no NVIDIA GPU") for u in profile.unavailable)
    assert "gemm_tiled_kernel:" in profile.digest and "smem 8320 B" in profile.digest


def test_roofline_classes() -> None:
    spec = lookup_spec("NVIDIA H100 80GB HBM3")
    assert spec is not None
    gemm = roofline(
        runtime_ms=0.5, bytes_moved=48e6, flops=2 * 2048**3, spec=spec, dtype="float32", estimated=True
    )
    assert gemm.bound == "compute" and gemm.pct_peak_compute == pytest.approx(51.28, rel=1e-3)
    tiny = roofline(runtime_ms=0.01, bytes_moved=4096, flops=None, spec=spec, dtype="float32", estimated=True)
    assert tiny.bound == "latency" and tiny.sol_pct < 1


def test_failed_ncu_run_keeps_static_figures(relu_parts: tuple) -> None:
    task, verdict, parts = relu_parts
    failed = parts.model_copy(
        update={"ncu": NcuRun(ok=False, message="ncu: timed out."), "unavailable": ["ncu: timed out."]}
    )
    profile = build_profile(task, verdict, failed)
    assert "relu_kernel: " in profile.digest and "- ncu: timed out." in profile.digest
    assert not any(m.source == "ncu" for m in profile.metrics)


def test_gemm_with_the_tasks_flop_estimate_is_compute_bound() -> None:
    task = load_task(CASES / "gemm_task.py")
    parts = ProfileParts(
        gpu=H100, spec=lookup_spec(H100.name), static=analyse_candidate(_candidate("gemm"), "sm_90")
    )
    verdict = Verdict(status=Status.ok, candidate_timing=_timing(0.5), kernel_names=["gemm_tiled_kernel"])
    profile = build_profile(task, verdict, parts)
    assert profile.roofline is not None and profile.roofline.bound == "compute"
    assert profile.roofline.pct_peak_compute == pytest.approx(100 * 2 * 2048**3 / 0.5e-3 / 67e12, rel=1e-3)
    assert "compute-bound" in profile.digest and "FLOPs: the task's FLOPS" in profile.digest
    assert "minimal bytes: inputs 33.55 MB + outputs unknown" in profile.digest
