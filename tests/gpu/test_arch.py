"""The compile target per compute capability, and that NVRTC builds the architecture-specific one."""

from __future__ import annotations

from kernelwright.contracts import GPUIdentity
from kernelwright.gpu.arch import arch_for, arch_for_capability
from kernelwright.gpu.target import gpu_facts

WGMMA_FENCE = r"""
extern "C" __global__ void fence_kernel(float* out) {
    asm volatile("wgmma.fence.sync.aligned;\n" ::: "memory");
    out[threadIdx.x] = 1.0f;
}
"""


def test_hopper_and_blackwell_get_their_architecture_specific_targets() -> None:
    assert arch_for_capability("9.0") == "sm_90a" and arch_for(10, 0) == "sm_100a"
    assert arch_for_capability("8.6") == "sm_86" and arch_for_capability("8.0") == "sm_80"


def test_a_wgmma_instruction_builds_for_sm_90a_and_not_for_sm_90() -> None:
    from kernelwright.sandbox.build.compile import compile_cuda

    assert compile_cuda(WGMMA_FENCE, "sm_90a").ok
    assert not compile_cuda(WGMMA_FENCE, "sm_90").ok


def test_the_coder_is_told_the_target() -> None:
    h100 = GPUIdentity(name="NVIDIA H100 80GB HBM3", compute_capability="9.0", sm_count=132)
    assert "compiled with NVRTC for sm_90a" in gpu_facts(h100, "sm_90a", compile_only=False)


def test_the_coder_is_told_the_limits_that_shape_a_kernel() -> None:
    h100 = GPUIdentity(name="NVIDIA H100 80GB HBM3", compute_capability="9.0", sm_count=132)
    facts = gpu_facts(h100, "sm_90a", compile_only=False)
    assert (
        "228 KiB shared memory per SM" in facts and "65536 registers per SM, at most 255 per thread" in facts
    )
    assert "dense tensor-core peaks TF32 494.7, FP16 989.4, BF16 989.4 TFLOP/s" in facts
    assert "peak DRAM bandwidth 3350 GB/s" in facts
