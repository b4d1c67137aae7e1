"""`analyze`: compile a candidate's CUDA on the CPU and report resources and theoretical occupancy.

No task is needed and nothing runs: the candidate's CUDA strings are read from its AST, compiled
for the named arch, and each kernel's registers, spills and memory are paired with occupancy for
a few block sizes (from kernelwright.gpu.occupancy).
"""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, Field

from kernelwright.contracts import KernelResources
from kernelwright.errors import ConfigError
from kernelwright.sandbox.build.candidate_source import cuda_sources, detect_build, read_candidate_file
from kernelwright.sandbox.build.compile import ARCH_PATTERN
from kernelwright.sandbox.guard.static_check import compile_cuda_source

DEFAULT_BLOCK_SIZES = (64, 128, 256, 512, 1024)


class OccupancyRow(BaseModel):
    threads_per_block: int
    blocks_per_sm: int
    occupancy_pct: float
    limiter: str | None
    message: str = ""


class KernelReport(BaseModel):
    resources: KernelResources
    occupancy: list[OccupancyRow] = Field(default_factory=list)


class Analysis(BaseModel):
    """What `kernelwright analyze` prints (as tables, or this model as JSON)."""

    path: str
    arch: str
    build: str
    ok: bool
    backend: str | None = None
    cached: bool = False
    compile_s: float = 0.0
    kernels: list[KernelReport] = Field(default_factory=list)
    log: str = Field("", description="Trimmed compiler errors when ok is False.")
    warning: str | None = None
    occupancy_note: str | None = Field(None, description="Why occupancy is missing, when it is.")


def analyze_file(
    path: str | Path, arch: str = "sm_90", block_sizes: tuple[int, ...] = DEFAULT_BLOCK_SIZES
) -> Analysis:
    """Compiles every CUDA source of the candidate at `path`; user errors raise KernelwrightError."""
    if not ARCH_PATTERN.match(arch):
        raise ConfigError(f"'{arch}' is not a GPU architecture name; use the form sm_90 or sm_80.")
    if any(b < 1 or b > 1024 for b in block_sizes):
        raise ConfigError("block sizes must be between 1 and 1024 threads.")
    source = read_candidate_file(path)
    build = detect_build(source)
    analysis = Analysis(path=str(path), arch=arch, build=build, ok=True)
    sources = cuda_sources(source)
    if not sources:
        analysis.ok = False
        analysis.log = (
            "No CUDA source found: put it in a module-level string passed to CudaModule or load_inline."
        )
        return analysis
    start = time.perf_counter()
    for cuda in sources:
        result = compile_cuda_source(cuda, build, arch)
        analysis.backend, analysis.cached = result.backend, result.cached
        analysis.warning = analysis.warning or result.warning
        if not result.ok:
            analysis.ok, analysis.log = False, result.log
            break
        analysis.kernels += [KernelReport(resources=r) for r in result.resources]
    analysis.compile_s = time.perf_counter() - start
    if analysis.ok:
        _add_occupancy(analysis, block_sizes)
    return analysis


def _add_occupancy(analysis: Analysis, block_sizes: tuple[int, ...]) -> None:
    try:
        from kernelwright.gpu.occupancy import occupancy
    except ImportError:
        analysis.occupancy_note = "occupancy is unavailable: kernelwright.gpu.occupancy is not installed."
        return
    for kernel in analysis.kernels:
        r = kernel.resources
        try:
            rows = [occupancy(analysis.arch, b, r.registers_per_thread, r.shared_bytes) for b in block_sizes]
        except ValueError as err:
            analysis.occupancy_note = f"occupancy is unavailable for {analysis.arch}: {err}."
            return
        kernel.occupancy = [
            OccupancyRow(
                threads_per_block=o.threads_per_block,
                blocks_per_sm=o.blocks_per_sm,
                occupancy_pct=o.occupancy_pct,
                limiter=o.limiter,
                message=o.message,
            )
            for o in rows
        ]
