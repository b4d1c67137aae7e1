"""The Profiler: static analysis always, then the observers its configuration lists (Nsight Compute,
NVML power; observers.py) where a GPU allows, condensed into a Profile whose digest is what the Judge
reads. Never raises for a missing tool or GPU."""

from __future__ import annotations

import sys
import tempfile
from dataclasses import dataclass

from pydantic import BaseModel, Field

from kernelwright.contracts import Candidate, GPUIdentity, Metric, Profile, Roofline, Task, Verdict
from kernelwright.gpu.arch import arch_for_capability
from kernelwright.gpu.nvml import gpu_identity
from kernelwright.gpu.occupancy import Occupancy
from kernelwright.gpu.specs import GPUSpec, lookup_spec
from kernelwright.profiler.digest import DigestInputs, render_digest
from kernelwright.profiler.findings import rank_findings
from kernelwright.profiler.ncu import KernelFigures, NcuConfig, NcuRun
from kernelwright.profiler.observers import (
    NcuObserver,
    Observer,
    ObserverResult,
    PowerLoop,
    PowerObserver,
    ProfiledRun,
    SwitchedOff,
    observe,
)
from kernelwright.profiler.power import NvmlSample, PowerReading, power_metrics
from kernelwright.profiler.roofline import speed_of_light
from kernelwright.profiler.static import StaticAnalysis, analyse_candidate, kernel_occupancies

NO_GPU = "GPU: no NVIDIA GPU/driver visible; ncu counters and NVML power need one (static figures only)."
NCU_OFF = "ncu: switched off for this run (ProfilerConfig.run_ncu / --no-ncu)."


class ProfilerConfig(BaseModel):
    """What the profiler runs for each judged candidate."""

    arch: str | None = None
    """Target arch for static analysis; None: the GPU's own, or sm_90 without a GPU."""
    device_index: int = 0
    """GPU (NVML index) to profile on."""
    run_ncu: bool = True
    """Run Nsight Compute where it is installed and counters are readable."""
    run_power: bool = True
    """Sample NVML power, clocks and throttling around a back-to-back loop."""
    power_min_seconds: float = 1.0
    """Length of the sampled loop; NVML's energy counter needs about a second to be meaningful."""
    power_min_calls: int = 10
    """Calls of the sampled loop, at least (it synchronises every 10 calls, so 10 is one batch)."""
    power_max_seconds: float = 60.0
    """Stop the sampled loop here even short of power_min_calls (slow kernels; kernelwright.stop_rule)."""
    power_timeout_s: float = 120.0
    """Wall-time limit of the sampled loop's process."""
    default_block_size: int = 256
    """Block size assumed for static occupancy when none was measured."""
    ncu: NcuConfig = Field(default_factory=NcuConfig)
    """Nsight Compute settings."""
    python: str = sys.executable
    """Interpreter for the profiled child processes."""


def observers_for(config: ProfilerConfig) -> list[Observer]:
    """A fresh list per candidate (observers keep their figures); ncu first, then power, which is
    also the order of their lines in the digest."""
    observers: list[Observer] = [NcuObserver(config.ncu) if config.run_ncu else SwitchedOff(NCU_OFF)]
    if config.run_power:
        loop = PowerLoop(
            min_seconds=config.power_min_seconds,
            min_calls=config.power_min_calls,
            max_seconds=config.power_max_seconds,
            timeout_s=config.power_timeout_s,
        )
        observers.append(PowerObserver(loop))
    return observers


class ProfileParts(BaseModel):
    """What was gathered for one candidate, before condensing."""

    gpu: GPUIdentity | None = None
    spec: GPUSpec | None = None
    static: StaticAnalysis
    ncu: NcuRun | None = None
    power: PowerReading | None = None
    output_bytes: float | None = None
    power_samples: list[NvmlSample] = Field(
        default_factory=list, description="Raw NVML samples, for fixtures."
    )
    unavailable: list[str] = Field(default_factory=list)

    def add(self, result: ObserverResult) -> None:
        """Takes in one observer's figures and unavailable lines."""
        if result.ncu is not None:
            self.ncu = result.ncu
        if result.power is not None:
            self.power = result.power.reading
            self.output_bytes = float(result.power.output_bytes) or None
            self.power_samples = list(result.power.samples)
        self.unavailable += result.unavailable


@dataclass(frozen=True)
class RooflineReading:
    """The roofline position, what its bytes and FLOPs were counted from, and the measured traffic."""

    roofline: Roofline | None
    basis: str
    traffic_line: str | None = None
    metrics: tuple[Metric, ...] = ()


@dataclass(frozen=True)
class OccupancyLimit:
    """The kernel whose occupancy limiter the profile names, and the digest's line about it."""

    kernel: str | None
    limiter: str | None = None
    line: str | None = None


def _arch_of(gpu: GPUIdentity | None, configured: str | None) -> str:
    if configured:
        return configured
    if gpu is not None and gpu.compute_capability:
        return arch_for_capability(gpu.compute_capability)
    return "sm_90"


def _roofline_reading(
    task: Task, verdict: Verdict, parts: ProfileParts, kernels: KernelFigures
) -> RooflineReading:
    if parts.spec is None:
        return RooflineReading(None, "")
    measured_output = parts.output_bytes or (parts.ncu.output_bytes if parts.ncu is not None else None)
    sol = speed_of_light(task, verdict, parts.spec, kernels, output_bytes=measured_output)
    if sol is None:
        return RooflineReading(None, "")
    return RooflineReading(sol.roofline, sol.basis, sol.traffic_line, tuple(sol.metrics))


def _occupancy_limit(kernels: KernelFigures, occupancies: dict[str, Occupancy]) -> OccupancyLimit:
    """The longest kernel by ncu, else the least occupied one, and what limits its occupancy."""
    kernel = max(kernels, key=lambda k: (kernels[k].get("duration_ms", 0.0), k)) if kernels else None
    if kernel is None and occupancies:
        kernel = min(occupancies, key=lambda k: (occupancies[k].occupancy_pct, k))
    occ = occupancies.get(kernel) if kernel else None
    if occ is None:
        return OccupancyLimit(kernel)
    binding = (
        occ.limiter if occ.occupancy_pct < 100 else f"none binding at full occupancy (cap: {occ.limiter})"
    )
    line = (
        f"{binding} ({kernel}: {occ.registers_per_thread} regs/thread, {occ.shared_per_block} B smem, "
        f"block {occ.threads_per_block} -> {occ.blocks_per_sm} blocks/SM, {occ.occupancy_pct:.0f}%)"
    )
    return OccupancyLimit(kernel, occ.limiter, line)


def _metrics(parts: ProfileParts, kernels: KernelFigures, occupancies: dict[str, Occupancy]) -> list[Metric]:
    out = [
        Metric(source="ncu", name=name, value=value, kernel=kernel)
        for kernel in sorted(kernels)
        for name, value in sorted(kernels[kernel].items())
    ]
    for r in parts.static.resources:
        for name, value, unit in (
            ("registers_per_thread", r.registers_per_thread, ""),
            ("spill_bytes", r.spill_stores_bytes + r.spill_loads_bytes, "B"),
            ("shared_bytes", r.shared_bytes, "B"),
            ("local_bytes", r.local_bytes, "B"),
        ):
            out.append(Metric(source="static", name=name, value=float(value), unit=unit, kernel=r.name))
        if (occ := occupancies.get(r.name)) is not None:
            out.append(
                Metric(
                    source="static",
                    name="theoretical_occupancy_pct",
                    value=occ.occupancy_pct,
                    unit="%",
                    kernel=r.name,
                )
            )
    if parts.power is not None:
        out += power_metrics(parts.power)
    return out


def build_profile(
    task: Task, verdict: Verdict, parts: ProfileParts, *, default_block_size: int = 256
) -> Profile:
    """Pure: the Profile and its digest from gathered parts (tested with recorded/documented parts)."""
    kernels = parts.ncu.kernels if parts.ncu is not None and parts.ncu.ok else {}
    blocks = {k: int(f["block_size"]) for k, f in kernels.items() if f.get("block_size")}
    occupancies = kernel_occupancies(parts.static.resources, blocks, default_block_size)
    limit = _occupancy_limit(kernels, occupancies)
    position = _roofline_reading(task, verdict, parts, kernels)
    dominant = kernels.get(limit.kernel, {}) if limit.kernel else {}
    inputs = DigestInputs(
        task=task,
        verdict=verdict,
        arch=parts.static.arch,
        gpu=parts.gpu,
        spec=parts.spec,
        ncu_kernels=kernels,
        resources=parts.static.resources,
        occupancies=occupancies,
        occupancy_limiter=limit.line,
        roofline=position.roofline,
        roofline_basis=position.basis,
        traffic_line=position.traffic_line,
        power=parts.power,
        findings=rank_findings(dominant, limit.limiter, parts.static.resources, occupancies),
        unavailable=parts.unavailable + parts.static.problems,
    )
    return Profile(
        gpu=parts.gpu,
        metrics=_metrics(parts, kernels, occupancies) + list(position.metrics),
        roofline=position.roofline,
        occupancy_limiter=limit.limiter,
        unavailable=inputs.unavailable,
        digest=render_digest(inputs),
    )


class Profiler:
    """interfaces.ProfilerFn: `profiler(task, candidate, verdict) -> Profile`."""

    def __init__(self, config: ProfilerConfig | None = None):
        self.config = config or ProfilerConfig()

    def __call__(self, task: Task, candidate: Candidate, verdict: Verdict) -> Profile:
        return build_profile(
            task,
            verdict,
            self.gather(task, candidate, verdict),
            default_block_size=self.config.default_block_size,
        )

    def gather(self, task: Task, candidate: Candidate, verdict: Verdict) -> ProfileParts:
        """Static figures, then (on a GPU, for a correct candidate) each observer's figures."""
        cfg = self.config
        gpu = gpu_identity(cfg.device_index)
        parts = ProfileParts(
            gpu=gpu,
            spec=lookup_spec(gpu.name) if gpu else None,
            static=analyse_candidate(candidate, _arch_of(gpu, cfg.arch)),
        )
        if gpu is None:
            parts.unavailable.append(NO_GPU)
            return parts
        if parts.spec is None:
            parts.spec = _estimated_spec(gpu, cfg.device_index)
            if parts.spec is None:
                parts.unavailable.append(
                    f"peaks: {gpu.name} is not in the spec table and NVML gives no memory clock."
                )
        if not verdict.correct:
            parts.unavailable.append(
                f"ncu/NVML: not run, the candidate is {verdict.status.value} (only correct candidates are profiled)."
            )
            return parts
        names = verdict.kernel_names or parts.static.kernel_names
        with tempfile.TemporaryDirectory(prefix="kw-profile-") as tmp:
            run = ProfiledRun.write(
                tmp, task, candidate, names, device_index=cfg.device_index, python=cfg.python
            )
            for result in observe(observers_for(cfg), run):
                parts.add(result)
        return parts


def _estimated_spec(gpu: GPUIdentity, index: int) -> GPUSpec | None:
    from kernelwright.gpu.nvml import nvml_session
    from kernelwright.gpu.specs import estimate_spec

    with nvml_session() as nvml:
        if nvml is None:
            return None
        try:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            mem = nvml.nvmlDeviceGetMaxClockInfo(handle, nvml.NVML_CLOCK_MEM)
            sm = nvml.nvmlDeviceGetMaxClockInfo(handle, nvml.NVML_CLOCK_SM)
            bus = nvml.nvmlDeviceGetMemoryBusWidth(handle)
        except Exception:
            return None
    return estimate_spec(
        gpu.name,
        compute_capability=gpu.compute_capability,
        sm_count=gpu.sm_count,
        max_mem_clock_mhz=mem,
        bus_width_bits=bus,
        max_sm_clock_mhz=sm,
    )
