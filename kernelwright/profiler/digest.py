"""The Judge-ready digest: deterministic plain text, at most 40 lines, built only from its inputs."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from kernelwright.contracts import GPUIdentity, KernelResources, Roofline, Task, TimingStats, Verdict
from kernelwright.gpu.occupancy import Occupancy
from kernelwright.gpu.specs import GPUSpec
from kernelwright.profiler.findings import Finding
from kernelwright.profiler.power import PowerReading

MAX_LINES = 40
MAX_KERNEL_LINES = 6


class DigestInputs(BaseModel):
    """Everything the digest may say; nothing else reaches it."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    task: Task
    verdict: Verdict
    arch: str
    gpu: GPUIdentity | None = None
    spec: GPUSpec | None = None
    ncu_kernels: dict[str, dict[str, float]] = Field(default_factory=dict)
    resources: list[KernelResources] = Field(default_factory=list)
    occupancies: dict[str, Occupancy] = Field(default_factory=dict)
    occupancy_limiter: str | None = None
    roofline: Roofline | None = None
    roofline_basis: str = ""
    traffic_line: str | None = None
    """The DRAM traffic ncu measured, beside the minimal bytes SOL counts (never part of SOL)."""
    power: PowerReading | None = None
    findings: list[Finding] = Field(default_factory=list)
    unavailable: list[str] = Field(default_factory=list)


def _ms(t: TimingStats | None) -> str:
    return f"{t.median_ms:.4g} ms" if t is not None else "n/a"


def _gpu_line(d: DigestInputs) -> str:
    name = d.gpu.name if d.gpu else (d.spec.name if d.spec else "no GPU")
    sms = (d.gpu.sm_count if d.gpu else None) or (d.spec.sm_count if d.spec else None)
    head = f"GPU: {name} ({d.arch}{f', {sms} SMs' if sms else ''})"
    if d.spec is None:
        return head + "; peak figures unknown"
    s = d.spec
    peaks = [f"DRAM {s.dram_bandwidth_gbs:g} GB/s"]
    if s.fp32_tflops:
        peaks.append(f"FP32 {s.fp32_tflops:g} TFLOP/s")
    if s.fp16_tflops:
        peaks.append(f"FP16 tensor {s.fp16_tflops:g} TFLOP/s")
    return head + "; peaks " + ", ".join(peaks) + (" (estimated from NVML)" if s.estimated else "")


def _timing_line(v: Verdict) -> str:
    parts = [f"candidate {_ms(v.candidate_timing)}"]
    if v.eager_timing:
        speed = f" ({v.speedup_vs_eager:.2f}x)" if v.speedup_vs_eager else ""
        parts.append(f"eager {_ms(v.eager_timing)}{speed}")
    if v.compiled_timing:
        speed = f" ({v.speedup_vs_compiled:.2f}x)" if v.speedup_vs_compiled else ""
        parts.append(f"torch.compile {_ms(v.compiled_timing)}{speed}")
    return "Time per call: " + "; ".join(parts)


def _roofline_line(d: DigestInputs) -> str:
    r = d.roofline
    if r is None:
        return "Roofline: n/a (needs a measured runtime on a known GPU)"
    bound = {"memory": "memory-bound", "compute": "compute-bound", "latency": "latency/occupancy-bound"}[
        r.bound
    ]
    compute = (
        f"task FLOPs at {r.pct_peak_compute:.0f}% of peak compute"
        if r.pct_peak_compute is not None
        else "compute n/a (no FLOP count)"
    )
    basis = f" [{d.roofline_basis}]" if d.roofline_basis else ""
    return (
        f"Roofline: {bound}; minimal bytes at {r.pct_peak_bandwidth:.0f}% of peak bandwidth, {compute}; "
        f"SOL {r.sol_pct:.0f}%{basis}"
    )


def _kernel_lines(d: DigestInputs) -> list[str]:
    names = list(dict.fromkeys([*d.ncu_kernels, *(r.name for r in d.resources)]))
    by_name = {r.name: r for r in d.resources}
    lines = []
    for name in names[:MAX_KERNEL_LINES]:
        bits = []
        f = d.ncu_kernels.get(name, {})
        if "duration_ms" in f:
            bits.append(f"{f['launches_per_call']:g} launch/call, {f['duration_ms']:.4g} ms")
        if (r := by_name.get(name)) is not None:
            spills = r.spill_stores_bytes + r.spill_loads_bytes
            bits.append(
                f"{r.registers_per_thread} regs, smem {r.shared_bytes} B, local {r.local_bytes} B, spills {spills} B"
            )
        if (o := d.occupancies.get(name)) is not None:
            bits.append(
                f"block {o.threads_per_block} -> {o.blocks_per_sm} blocks/SM, "
                f"{o.occupancy_pct:.0f}% theoretical occupancy (limit: {o.limiter})"
            )
        lines.append(f"  {name}: " + "; ".join(bits))
    if len(names) > MAX_KERNEL_LINES:
        lines.append(f"  ... and {len(names) - MAX_KERNEL_LINES} more kernels")
    return lines


def _power_line(p: PowerReading) -> str:
    bits = []
    if p.power_w_median is not None:
        bits.append(f"{p.power_w_median:.0f} W median")
    if p.energy_per_call_mj is not None:
        bits.append(f"{p.energy_per_call_mj:.3g} mJ/call")
    if p.sm_clock_mhz_median is not None:
        bits.append(f"SM {p.sm_clock_mhz_median:.0f} MHz")
    if p.temperature_c_max is not None:
        bits.append(f"{p.temperature_c_max} C max")
    bits.append("throttled: " + ", ".join(p.throttle_reasons) if p.throttle_reasons else "no throttling")
    return f"Power ({p.calls} calls, {p.duration_s:.1f} s): " + ", ".join(bits)


def render_digest(d: DigestInputs) -> str:
    """At most 40 lines; identical inputs give identical text."""
    lines = [_gpu_line(d), f"Task: {d.task.key}; verdict {d.verdict.status.value}", _timing_line(d.verdict)]
    lines.append(_roofline_line(d))
    if d.traffic_line:
        lines.append(d.traffic_line)
    kernel_lines = _kernel_lines(d)
    if kernel_lines:
        lines += ["Kernels:", *kernel_lines]
    if d.occupancy_limiter:
        lines.append(f"Occupancy limiter: {d.occupancy_limiter}")
    if d.findings:
        lines += ["Most telling:", *(f.line() for f in d.findings)]
    if d.power is not None:
        lines.append(_power_line(d.power))
    if d.unavailable:
        lines += ["Unavailable:", *(f"- {u}" for u in d.unavailable)]
    if len(lines) > MAX_LINES:
        lines = lines[: MAX_LINES - 1] + [f"... ({len(lines) - MAX_LINES + 1} lines cut)"]
    return "\n".join(lines)
