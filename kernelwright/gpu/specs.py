"""Peak figures of known GPUs (gpu_specs.yaml, cited per row) and an NVML-derived estimate for the rest."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

import yaml
from pydantic import BaseModel, Field

# FP32 lanes per SM by compute capability major.minor, from the CUDA C++ Programming Guide's
# "Arithmetic Instructions" throughput table (32-bit floating-point add/multiply/fma per SM per clock).
_FP32_LANES_PER_SM = {"7.0": 64, "7.5": 64, "8.0": 64, "8.6": 128, "8.7": 128, "8.9": 128, "9.0": 128}


class GPUSpec(BaseModel):
    """Peak figures of one GPU model; dense tensor throughput."""

    name: str
    match: str = Field("", description="Regex tried against the NVML name (case-insensitive).")
    compute_capability: str | None = None
    sm_count: int | None = None
    dram_bandwidth_gbs: float = Field(description="Peak DRAM bandwidth, GB/s (1e9 bytes/s).")
    fp32_tflops: float | None = Field(None, description="Peak non-tensor FP32, 1e12 FLOP/s.")
    tf32_tflops: float | None = Field(None, description="Dense TF32 tensor-core peak.")
    fp16_tflops: float | None = Field(None, description="Dense FP16 tensor-core peak (FP32 accumulate).")
    bf16_tflops: float | None = Field(None, description="Dense BF16 tensor-core peak.")
    l2_mib: float | None = None
    smem_per_sm_kib: int | None = None
    source: str = Field(description="Where the figures come from; 'estimated from NVML' for the fallback.")
    estimated: bool = Field(False, description="True when derived from NVML clocks, not a datasheet.")

    def peak_tflops(self, dtype: str | None) -> float | None:
        """The compute ceiling that applies to work in `dtype` (tensor cores for 16-bit types)."""
        if dtype in ("float16", "half"):
            return self.fp16_tflops or self.fp32_tflops
        if dtype == "bfloat16":
            return self.bf16_tflops or self.fp32_tflops
        return self.fp32_tflops


@cache
def all_specs() -> tuple[GPUSpec, ...]:
    text = resources.files("kernelwright.gpu").joinpath("gpu_specs.yaml").read_text()
    return tuple(GPUSpec.model_validate(row) for row in yaml.safe_load(text))


def lookup_spec(gpu_name: str) -> GPUSpec | None:
    """The table row for an NVML name such as 'NVIDIA H100 80GB HBM3', or None when unknown."""
    for spec in all_specs():
        if re.search(spec.match, gpu_name, re.IGNORECASE):
            return spec
    return None


def estimate_spec(
    gpu_name: str,
    *,
    compute_capability: str | None,
    sm_count: int | None,
    max_mem_clock_mhz: float | None,
    bus_width_bits: int | None,
    max_sm_clock_mhz: float | None,
) -> GPUSpec | None:
    """Figures for an unknown GPU from NVML readings; None when even the bandwidth cannot be had.

    DRAM: memory clock x bus width x 2 (double data rate) / 8 bits. NVML's memory clock for
    HBM and GDDR parts is the effective per-pin rate divided by two, so the x2 applies to both."""
    if not max_mem_clock_mhz or not bus_width_bits:
        return None
    bandwidth_gbs = max_mem_clock_mhz * 1e6 * bus_width_bits * 2 / 8 / 1e9
    lanes = _FP32_LANES_PER_SM.get(compute_capability or "", 128)
    fp32 = sm_count * lanes * 2 * max_sm_clock_mhz * 1e6 / 1e12 if sm_count and max_sm_clock_mhz else None
    return GPUSpec(
        name=gpu_name,
        compute_capability=compute_capability,
        sm_count=sm_count,
        dram_bandwidth_gbs=round(bandwidth_gbs, 1),
        fp32_tflops=round(fp32, 2) if fp32 else None,
        source="estimated from NVML (memory clock x bus width x 2 / 8; SMs x FP32 lanes x 2 x SM clock)",
        estimated=True,
    )
