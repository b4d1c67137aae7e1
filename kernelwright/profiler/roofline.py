"""Roofline position of one candidate: % of peak DRAM bandwidth and compute, the bound, % SOL."""

from __future__ import annotations

from kernelwright.contracts import Roofline, Task
from kernelwright.gpu.specs import GPUSpec

# Below this fraction of both peaks a kernel is limited by neither ceiling: latency, occupancy,
# launch overhead or serialisation dominate, and "make it move fewer bytes" is the wrong advice.
LOW_SOL_PCT = 40.0

DTYPE_BYTES = {
    "float64": 8,
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "int64": 8,
    "int32": 4,
    "int16": 2,
    "int8": 1,
    "uint8": 1,
    "bool": 1,
    "complex64": 8,
    "float8_e4m3fn": 1,
    "float8_e5m2": 1,
}


def task_input_bytes(task: Task) -> float:
    """Bytes of the task's tensor inputs (every input read at least once)."""
    return float(
        sum(a.numel * DTYPE_BYTES.get(a.dtype or "float32", 4) for a in task.inputs if a.kind == "tensor")
    )


def main_dtype(task: Task) -> str | None:
    """The dtype of the largest tensor input: it decides which compute ceiling applies."""
    tensors = [a for a in task.inputs if a.kind == "tensor"]
    return max(tensors, key=lambda a: a.numel).dtype if tensors else None


def ncu_fp32_flops(kernels: dict[str, dict[str, float]]) -> float | None:
    """FP32 FLOPs per call from SASS instruction counts: 2 per FFMA, 1 per FADD/FMUL."""
    total = 0.0
    seen = False
    for figures in kernels.values():
        for name, weight in (
            ("ffma_thread_insts", 2.0),
            ("fadd_thread_insts", 1.0),
            ("fmul_thread_insts", 1.0),
        ):
            if name in figures:
                seen = True
                total += weight * figures[name]
    return total if seen and total > 0 else None


def ncu_dram_bytes(kernels: dict[str, dict[str, float]]) -> float | None:
    found = [f.get("dram_read_bytes", 0.0) + f.get("dram_write_bytes", 0.0) for f in kernels.values()]
    present = any("dram_read_bytes" in f for f in kernels.values())
    return sum(found) if present else None


def roofline(
    *,
    runtime_ms: float,
    bytes_moved: float,
    flops: float | None,
    spec: GPUSpec,
    dtype: str | None,
    estimated: bool,
) -> Roofline:
    """Percentages of the spec's peaks reached at `runtime_ms` per call."""
    seconds = runtime_ms / 1e3
    pct_bw = 100.0 * bytes_moved / seconds / (spec.dram_bandwidth_gbs * 1e9) if seconds > 0 else 0.0
    peak = spec.peak_tflops(dtype)
    pct_compute = 100.0 * flops / seconds / (peak * 1e12) if flops and peak and seconds > 0 else None
    compute = pct_compute or 0.0
    if max(pct_bw, compute) < LOW_SOL_PCT:
        bound = "latency"
    elif compute > pct_bw:
        bound = "compute"
    else:
        bound = "memory"
    return Roofline(
        bytes_moved=bytes_moved,
        flops=flops,
        runtime_ms=runtime_ms,
        pct_peak_bandwidth=round(pct_bw, 2),
        pct_peak_compute=round(pct_compute, 2) if pct_compute is not None else None,
        bound=bound,
        sol_pct=round(max(pct_bw, compute), 2),
        estimated=estimated,
    )
