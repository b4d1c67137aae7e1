"""The launch check's decision on kernel event lists (fixtures written from documented name formats,
see their _provenance), plus what an empty trace means (a real torch.profiler run on the CPU records no GPU kernel)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from kernelwright.contracts import Status
from kernelwright.sandbox.failures import CheckFailed
from kernelwright.sandbox.judge.launch_rule import KernelEvent, classify, is_own_kernel, judge_launches

FIXTURES = json.loads((Path(__file__).parent / "fixtures" / "launch_events.json").read_text())


def events(name: str) -> list[KernelEvent]:
    return [KernelEvent(n, d) for n, d in FIXTURES[name]]


def test_own_kernel_names_match_plain_demangled_and_mangled_forms() -> None:
    assert is_own_kernel("relu_kernel", ["relu_kernel"])
    assert is_own_kernel("void softmax_rows<256>(float const*, float*, int, int)", ["softmax_rows"])
    assert is_own_kernel("_Z17fused_bias_gelu_kPKfS0_Pfii", ["fused_bias_gelu_k"])
    assert not is_own_kernel("relu_kernel_v2", ["relu_kernel"])
    assert not is_own_kernel("void at::native::relu_kernel(float*)", ["relu_kernel"])


@pytest.mark.parametrize(
    ("fixture", "own"), [("honest_native", ["relu_kernel"]), ("honest_templated", ["softmax_rows"])]
)
def test_honest_launches_pass(fixture: str, own: list[str]) -> None:
    judge_launches(events(fixture), own, 0.5)
    report = classify(events(fixture), own)
    assert report.own_fraction == 1.0 and report.glue_us > 0


def test_a_cublas_gemm_doing_the_work_is_a_library_kernel() -> None:
    with pytest.raises(CheckFailed) as err:
        judge_launches(events("library_gemm"), ["relu_kernel"], 0.5)
    assert (err.value.status, err.value.rule) == (Status.rejected, "library-kernel")
    assert "library kernel sm90_xmma_gemm" in err.value.message


def test_an_aten_kernel_doing_the_work_is_rejected() -> None:
    with pytest.raises(CheckFailed) as err:
        judge_launches(events("aten_does_work"), ["relu_kernel"], 0.5)
    assert err.value.rule == "library-kernel"
    assert "launch_clamp_scalar" in err.value.message


def test_no_own_kernel_names_where_the_time_went() -> None:
    with pytest.raises(CheckFailed) as err:
        judge_launches(events("no_own_kernel"), ["conv_kernel"], 0.5)
    assert err.value.rule == "no-custom-kernel"
    assert "implicit_gemm" in err.value.message


def test_fused_tasks_use_the_lower_threshold() -> None:
    with pytest.raises(CheckFailed):
        judge_launches(events("fused_level2"), ["fused_bias_gelu_k"], 0.5)
    judge_launches(events("fused_level2"), ["fused_bias_gelu_k"], 0.2)


def test_events_from_a_real_cpu_profile_hold_no_gpu_kernels() -> None:
    from torch.autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU]) as prof:
        torch.relu(torch.randn(64))
    assert any(e.name == "aten::relu" for e in prof.events())
    found = [e for e in prof.events() if e.device_type == DeviceType.CUDA]
    assert found == []
    # No GPU activity at all is no evidence: a note, not a rejection (CUPTI may be unavailable).
    note = judge_launches([], ["relu_kernel"], 0.5)
    assert note is not None and "no GPU kernels" in note


def test_a_check_with_no_kernel_name_to_match_is_a_rejection_not_a_pass() -> None:
    with pytest.raises(CheckFailed) as found:
        judge_launches(events("aten_does_work"), [], 0.5)
    assert (found.value.status, found.value.rule) == (Status.rejected, "no-custom-kernel")
    assert "could be named" in found.value.message


def test_a_kernel_hidden_from_the_parents_nvrtc_is_still_the_candidates() -> None:
    """hacks/hidden_from_nvrtc.py: its kernel sits behind #ifndef __CUDACC_RTC__, so the static
    compile names none and the launch check used to be skipped; the declared name now counts."""
    from kernelwright.contracts import Candidate
    from kernelwright.kernelbench import find_task
    from kernelwright.sandbox.evaluate import _own_kernel_names
    from kernelwright.sandbox.guard.static_check import StaticCheckConfig, static_verdict

    hack = Candidate(source=(Path(__file__).parent / "hacks" / "hidden_from_nvrtc.py").read_text())
    static = static_verdict(
        find_task("19_ReLU"), hack, arch="sm_90", config=StaticCheckConfig(full_build_fallback=False)
    )
    assert static.status == Status.ok and static.kernel_names == []
    own = _own_kernel_names(hack, static)
    assert own == ["relu_kernel"]
    with pytest.raises(CheckFailed) as found:  # ATen's kernel beside the one-thread token kernel
        judge_launches(events("aten_does_work"), own, 0.5)
    assert found.value.rule == "library-kernel"
