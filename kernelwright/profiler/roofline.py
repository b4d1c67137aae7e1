"""Roofline position of one candidate: % of peak DRAM bandwidth and compute, the bound, % SOL.

Speed of light is measured against the least work the task needs: its inputs and outputs (and
parameters) moved once, and the task's own FLOP count. The DRAM traffic the kernel really caused is a
separate, labelled figure: a three-pass softmax can run at full bandwidth while moving three times
the bytes it needs, and that kernel is not at speed of light.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kernelwright.contracts import Metric, Roofline, Task, Verdict
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


def pct_of_bandwidth(nbytes: float, runtime_ms: float, spec: GPUSpec) -> float:
    seconds = runtime_ms / 1e3
    return 100.0 * nbytes / seconds / (spec.dram_bandwidth_gbs * 1e9) if seconds > 0 else 0.0


def roofline(
    *,
    runtime_ms: float,
    bytes_moved: float,
    flops: float | None,
    spec: GPUSpec,
    dtype: str | None,
    estimated: bool,
    measured_bytes: float | None = None,
) -> Roofline:
    """Percentages of the spec's peaks reached at `runtime_ms` per call by `bytes_moved` and `flops`
    (sol_pct is the larger). `measured_bytes`, the DRAM traffic counted, decides only the bound: a
    kernel saturating DRAM with redundant traffic is memory-bound, yet far from speed of light."""
    seconds = runtime_ms / 1e3
    pct_bw = pct_of_bandwidth(bytes_moved, runtime_ms, spec)
    peak = spec.peak_tflops(dtype)
    pct_compute = 100.0 * flops / seconds / (peak * 1e12) if flops and peak and seconds > 0 else None
    compute = pct_compute or 0.0
    busiest_bw = max(pct_bw, pct_of_bandwidth(measured_bytes, runtime_ms, spec) if measured_bytes else 0.0)
    if max(busiest_bw, compute) < LOW_SOL_PCT:
        bound = "latency"
    elif compute > busiest_bw:
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


def output_bytes_from_trials(task: Task, verdict: Verdict) -> float | None:
    """Bytes of one call's outputs from the judge's first trial (at the task's own sizes), whose
    element count covers every output; the element size is assumed to be the main input's."""
    first = next((t for t in verdict.trials if t.trial == 0 and t.numel > 0), None)
    if first is None:
        return None
    return float(first.numel * DTYPE_BYTES.get(main_dtype(task) or "float32", 4))


@dataclass(frozen=True)
class SpeedOfLight:
    """The roofline against the task's minimal work, what it was counted from, and the measured
    traffic beside it (a labelled line and metrics for the Judge, never part of sol_pct)."""

    roofline: Roofline
    basis: str
    traffic_line: str | None = None
    metrics: list[Metric] = field(default_factory=list)


def _mb(nbytes: float) -> str:
    return f"{nbytes / 1e6:.4g} MB"


def speed_of_light(
    task: Task,
    verdict: Verdict,
    spec: GPUSpec,
    kernels: dict[str, dict[str, float]],
    *,
    output_bytes: float | None,
) -> SpeedOfLight | None:
    """SOL% = max(minimal bytes / peak bandwidth, task FLOPs / peak FLOP/s) / measured time, where
    minimal bytes = inputs + outputs + parameters, each moved once. `output_bytes` is the size the
    profiled child measured; without it the judge's element count stands in. None without a timing."""
    timing = verdict.candidate_timing
    if timing is None:
        return None
    dtype = main_dtype(task)
    element = DTYPE_BYTES.get(dtype or "float32", 4)
    inputs = task_input_bytes(task)
    params = float((task.param_count or 0) * element)
    outputs = output_bytes or output_bytes_from_trials(task, verdict)
    minimal = inputs + (outputs or 0.0) + params
    parts = [f"inputs {_mb(inputs)}"]
    parts.append(f"outputs {_mb(outputs)}" if outputs else "outputs unknown")
    if params:
        parts.append(f"parameters {_mb(params)}")
    basis = "minimal bytes: " + " + ".join(parts)
    flops = task.flops or None
    basis += "; FLOPs: the task's FLOPS" if flops else "; FLOPs: the task declares none (SOL from bytes only)"
    measured = ncu_dram_bytes(kernels)
    line = roofline(
        runtime_ms=timing.median_ms,
        bytes_moved=minimal,
        flops=flops,
        spec=spec,
        dtype=dtype,
        # Exact sizes on a datasheet spec; the judge's element count assumes the output's dtype.
        estimated=spec.estimated or not output_bytes,
        measured_bytes=measured,
    )
    metrics = [Metric(source="derived", name="minimal_bytes", value=minimal, unit="B")]
    traffic_line = None
    if measured is not None:
        measured_pct = pct_of_bandwidth(measured, timing.median_ms, spec)
        ratio = measured / minimal if minimal else None
        times = f" = {ratio:.2f}x the minimal {_mb(minimal)}" if ratio else ""
        traffic_line = (
            f"Measured DRAM traffic (ncu, not used for SOL): {_mb(measured)} per call{times}, "
            f"{measured_pct:.0f}% of peak bandwidth"
        )
        metrics.append(Metric(source="ncu", name="measured_dram_bytes", value=measured, unit="B"))
        metrics.append(
            Metric(source="derived", name="measured_dram_pct_of_peak", value=round(measured_pct, 2), unit="%")
        )
        if ratio:
            metrics.append(Metric(source="derived", name="traffic_over_minimal", value=round(ratio, 3)))
    counted = ncu_fp32_flops(kernels)
    if counted is not None:
        peak = spec.fp32_tflops
        share = (
            f", {100 * counted / (timing.median_ms / 1e3) / (peak * 1e12):.0f}% of FP32 peak" if peak else ""
        )
        executed = f"FP32 FLOPs executed (ncu SASS counts): {counted:.4g} per call{share}"
        traffic_line = f"{traffic_line}; {executed}" if traffic_line else f"Measured: {executed}"
    return SpeedOfLight(line, basis, traffic_line, metrics)
