"""The Profiler: static analysis always, Nsight Compute and NVML where a GPU allows, condensed
into a Profile whose digest is what the Judge reads. Never raises for a missing tool or GPU."""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path

from pydantic import BaseModel, Field

from kernelwright.contracts import Candidate, GPUIdentity, Metric, Profile, Task, Verdict
from kernelwright.gpu.nvml import gpu_identity
from kernelwright.gpu.specs import GPUSpec, lookup_spec
from kernelwright.profiler.child import run_in_group
from kernelwright.profiler.digest import DigestInputs, render_digest
from kernelwright.profiler.findings import rank_findings
from kernelwright.profiler.ncu import NcuConfig, NcuRun, run_ncu
from kernelwright.profiler.power import PowerReading, power_metrics
from kernelwright.profiler.roofline import (
    main_dtype,
    ncu_dram_bytes,
    ncu_fp32_flops,
    roofline,
    task_input_bytes,
)
from kernelwright.profiler.static import StaticAnalysis, analyse_candidate, kernel_occupancies


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
    power_timeout_s: float = 120.0
    """Wall-time limit of the sampled loop's process."""
    default_block_size: int = 256
    """Block size assumed for static occupancy when none was measured."""
    ncu: NcuConfig = Field(default_factory=NcuConfig)
    """Nsight Compute settings."""
    python: str = sys.executable
    """Interpreter for the profiled child processes."""


class ProfileParts(BaseModel):
    """What was gathered for one candidate, before condensing."""

    gpu: GPUIdentity | None = None
    spec: GPUSpec | None = None
    static: StaticAnalysis
    ncu: NcuRun | None = None
    power: PowerReading | None = None
    output_bytes: float | None = None
    power_samples: list[dict] = Field(default_factory=list, description="Raw NVML samples, for fixtures.")
    unavailable: list[str] = Field(default_factory=list)


def _arch_of(gpu: GPUIdentity | None, configured: str | None) -> str:
    if configured:
        return configured
    if gpu is not None and gpu.compute_capability:
        return "sm_" + gpu.compute_capability.replace(".", "")
    return "sm_90"


def _roofline_and_basis(task: Task, verdict: Verdict, parts: ProfileParts, kernels: dict) -> tuple:
    timing = verdict.candidate_timing
    if timing is None or parts.spec is None:
        return None, ""
    dram = ncu_dram_bytes(kernels)
    counted = ncu_fp32_flops(kernels)
    # SASS FP32 counts miss tensor-core work, so a task's own estimate wins when it is larger.
    flops = max(counted or 0.0, task.flops or 0.0) or None
    if dram is not None:
        bytes_moved, basis, estimated = dram, "bytes: ncu DRAM counters", False
    else:
        bytes_moved = task_input_bytes(task) + (parts.output_bytes or 0.0)
        basis = "bytes: inputs" + (" + output" if parts.output_bytes else "") + " sizes (estimate)"
        estimated = True
    if flops is None:
        basis += "; FLOPs: none"
    else:
        basis += "; FLOPs: " + (
            "ncu SASS FP32 counts" if counted and counted >= (task.flops or 0) else "task estimate"
        )
    line = roofline(
        runtime_ms=timing.median_ms,
        bytes_moved=bytes_moved,
        flops=flops,
        spec=parts.spec,
        dtype=main_dtype(task),
        estimated=estimated or parts.spec.estimated,
    )
    return line, basis


def _metrics(parts: ProfileParts, kernels: dict, occupancies: dict) -> list[Metric]:
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
    dominant_name = max(kernels, key=lambda k: (kernels[k].get("duration_ms", 0.0), k)) if kernels else None
    if dominant_name is None and occupancies:
        dominant_name = min(occupancies, key=lambda k: (occupancies[k].occupancy_pct, k))
    occ = occupancies.get(dominant_name) if dominant_name else None
    limiter = occ.limiter if occ is not None else None
    limiter_line = None
    if occ is not None:
        binding = limiter if occ.occupancy_pct < 100 else f"none binding at full occupancy (cap: {limiter})"
        limiter_line = (
            f"{binding} ({dominant_name}: {occ.registers_per_thread} regs/thread, {occ.shared_per_block} B smem, "
            f"block {occ.threads_per_block} -> {occ.blocks_per_sm} blocks/SM, {occ.occupancy_pct:.0f}%)"
        )
    dominant = kernels.get(dominant_name, {}) if dominant_name else {}
    line, basis = _roofline_and_basis(task, verdict, parts, kernels)
    inputs = DigestInputs(
        task=task,
        verdict=verdict,
        arch=parts.static.arch,
        gpu=parts.gpu,
        spec=parts.spec,
        ncu_kernels=kernels,
        resources=parts.static.resources,
        occupancies=occupancies,
        occupancy_limiter=limiter_line,
        roofline=line,
        roofline_basis=basis,
        power=parts.power,
        findings=rank_findings(dominant, limiter, parts.static.resources, occupancies),
        unavailable=parts.unavailable + parts.static.problems,
    )
    return Profile(
        gpu=parts.gpu,
        metrics=_metrics(parts, kernels, occupancies),
        roofline=line,
        occupancy_limiter=limiter,
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
        cfg = self.config
        gpu = gpu_identity(cfg.device_index)
        arch = _arch_of(gpu, cfg.arch)
        parts = ProfileParts(
            gpu=gpu, spec=lookup_spec(gpu.name) if gpu else None, static=analyse_candidate(candidate, arch)
        )
        if gpu is None:
            parts.unavailable.append(
                "GPU: no NVIDIA GPU/driver visible; ncu counters and NVML power need one (static figures only)."
            )
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
            task_path, cand_path = Path(tmp, "task.py"), Path(tmp, "candidate.py")
            task_path.write_text(task.source)
            cand_path.write_text(candidate.source)
            if cfg.run_ncu:
                env = child_env(cfg.device_index)
                parts.ncu = run_ncu(
                    str(task_path), str(cand_path), names, cfg.ncu, python=cfg.python, workdir=tmp, env=env
                )
                if parts.ncu.message:  # why it failed, or which metrics this ncu lacks
                    parts.unavailable.append(parts.ncu.message)
            else:
                parts.unavailable.append(
                    "ncu: switched off for this run (ProfilerConfig.run_ncu / --no-ncu)."
                )
            if cfg.run_power:
                parts.power, parts.output_bytes, parts.power_samples = self._power(
                    task_path, cand_path, tmp, parts.unavailable
                )
        return parts

    def _power(self, task_path: Path, cand_path: Path, tmp: str, unavailable: list[str]) -> tuple:
        cfg = self.config
        out = Path(tmp, "power.json")
        cmd = [
            cfg.python,
            "-m",
            "kernelwright.profiler.driver",
            "--task",
            str(task_path),
            "--candidate",
            str(cand_path),
        ]
        cmd += ["--mode", "power", "--out", str(out), "--min-seconds", str(cfg.power_min_seconds)]
        cmd += ["--device-index", str(cfg.device_index)]
        child = run_in_group(cmd, cwd=tmp, env=child_env(cfg.device_index), timeout_s=cfg.power_timeout_s)
        if child.returncode is None:
            unavailable.append(f"NVML: the sampled loop did not finish within {cfg.power_timeout_s:.0f} s.")
            return None, None, []
        if child.returncode != 0 or not out.exists():
            last = (child.stderr.strip().splitlines() or ["no output"])[-1]
            unavailable.append(f"NVML: the sampled loop failed: {last[:200]}")
            return None, None, []
        data = json.loads(out.read_text())
        reading = PowerReading.model_validate(data["reading"]) if data.get("reading") else None
        if reading is None:
            unavailable.append("NVML: not usable in the profiled process (no power readings).")
        return reading, float(data.get("output_bytes") or 0) or None, list(data.get("samples") or [])


def child_env(device_index: int) -> dict[str, str]:
    """Environment of a profiled child: candidate code runs there, so no secrets (the sandbox's
    scrub list), and only the profiled GPU visible, numbered as NVML numbers it."""
    from kernelwright.sandbox.isolation.worker import scrub_environment

    env = scrub_environment(os.environ)
    env.update(CUDA_DEVICE_ORDER="PCI_BUS_ID", CUDA_VISIBLE_DEVICES=str(device_index))
    return env


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
