"""Static figures of a candidate on any CPU: compile its CUDA sources for an arch, read the
cubins, and work out theoretical occupancy for a block size. Two users: the Profiler
(`analyse_candidate`, never raises) and the `analyze` command (`analyze_file`: a candidate file,
compiled as the sandbox's static check compiles it, with an occupancy table per kernel)."""

from __future__ import annotations

import time
from pathlib import Path

from pydantic import BaseModel, Field

from kernelwright.contracts import Candidate, KernelResources
from kernelwright.errors import ConfigError
from kernelwright.gpu.cubin import CubinError, kernel_resources
from kernelwright.gpu.occupancy import Occupancy, occupancy, occupancy_table

DEFAULT_BLOCK_SIZES = (64, 128, 256, 512, 1024)


class StaticAnalysis(BaseModel):
    arch: str
    resources: list[KernelResources] = Field(default_factory=list)
    kernel_names: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list, description="One line per source that did not build.")


def analyse_candidate(candidate: Candidate, arch: str) -> StaticAnalysis:
    """Never raises for a bad candidate: what failed goes into `problems`."""
    from kernelwright.sandbox.build.candidate_source import (
        CandidateSyntaxError,
        builder_options,
        cuda_sources,
        detect_build,
    )
    from kernelwright.sandbox.build.compile import CompileConfig, compile_cuda
    from kernelwright.sandbox.build.load_inline_extract import extract_device_code

    try:
        sources = cuda_sources(candidate.source)
        build = detect_build(candidate.source)
        options = builder_options(candidate.source)
    except CandidateSyntaxError as err:
        return StaticAnalysis(arch=arch, problems=[str(err)])
    result = StaticAnalysis(arch=arch)
    if not sources:
        result.problems.append("static analysis: no CUDA source found in the candidate.")
    for index, source in enumerate(sources, 1):
        code = extract_device_code(source) if build == "compat" else source
        compiled = compile_cuda(
            code, arch, options.get(source, ()), config=CompileConfig(nvcc_fallback=build == "native")
        )
        if not compiled.ok or compiled.cubin is None:
            first = next((ln for ln in compiled.log.splitlines() if ln.strip()), "no log")
            result.problems.append(
                f"static analysis: CUDA source {index} did not compile for {arch}: {first}"
            )
            continue
        names = {sym: name for name, sym in compiled.symbols.items()}
        try:
            result.resources += kernel_resources(compiled.cubin, arch, names=names, ptxas=compiled.resources)
        except CubinError as err:
            result.problems.append(f"static analysis: {err}")
            result.resources += compiled.resources
        result.kernel_names += compiled.kernel_names
    return result


def kernel_occupancies(
    resources: list[KernelResources], block_sizes: dict[str, int], default_block: int
) -> dict[str, Occupancy]:
    """Theoretical occupancy per kernel at its measured block size, else its __launch_bounds__
    maximum, else `default_block`."""
    out = {}
    for r in resources:
        block = block_sizes.get(r.name) or r.max_threads_per_block or default_block
        out[r.name] = occupancy(r.arch, block, r.registers_per_thread, r.shared_bytes)
    return out


# ---------------------------------------------------------------- the `analyze` command's report


class OccupancyRow(BaseModel):
    threads_per_block: int
    blocks_per_sm: int
    occupancy_pct: float
    limiter: str | None
    message: str = ""


class KernelReport(BaseModel):
    resources: KernelResources
    occupancy: list[OccupancyRow] = Field(default_factory=list)


class AnalysisReport(BaseModel):
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
) -> AnalysisReport:
    """Compiles every CUDA source of the candidate at `path`; user errors raise KernelwrightError."""
    from kernelwright.sandbox.build.candidate_source import (
        builder_options,
        cuda_sources,
        detect_build,
        read_candidate_file,
    )
    from kernelwright.sandbox.build.compile import ARCH_PATTERN
    from kernelwright.sandbox.guard.static_check import compile_cuda_source

    if not ARCH_PATTERN.match(arch):
        raise ConfigError(f"'{arch}' is not a GPU architecture name; use the form sm_90 or sm_80.")
    if any(b < 1 or b > 1024 for b in block_sizes):
        raise ConfigError("block sizes must be between 1 and 1024 threads.")
    source = read_candidate_file(path)
    build = detect_build(source)
    report = AnalysisReport(path=str(path), arch=arch, build=build, ok=True)
    sources, options = cuda_sources(source), builder_options(source)
    if not sources:
        report.ok = False
        report.log = (
            "No CUDA source found: put it in a module-level string passed to CudaModule or load_inline."
        )
        return report
    start = time.perf_counter()
    for cuda in sources:
        result = compile_cuda_source(cuda, build, arch, options=options.get(cuda, ()))
        report.backend, report.cached = result.backend, result.cached
        report.warning = report.warning or result.warning
        if not result.ok:
            report.ok, report.log = False, result.log
            break
        report.kernels += [KernelReport(resources=r) for r in result.resources]
    report.compile_s = time.perf_counter() - start
    if report.ok:
        _add_occupancy(report, block_sizes)
    return report


def _add_occupancy(report: AnalysisReport, block_sizes: tuple[int, ...]) -> None:
    row_fields = set(OccupancyRow.model_fields)
    for kernel in report.kernels:
        r = kernel.resources
        try:
            table = occupancy_table(report.arch, r.registers_per_thread, r.shared_bytes, block_sizes)
        except ValueError as err:
            report.occupancy_note = f"occupancy is unavailable for {report.arch}: {err}."
            return
        kernel.occupancy = [OccupancyRow(**o.model_dump(include=row_fields)) for o in table]
