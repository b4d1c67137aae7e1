"""Static figures of a candidate on any CPU: compile its CUDA sources for an arch, read the
cubins, and work out theoretical occupancy for a block size."""

from __future__ import annotations

from pydantic import BaseModel, Field

from kernelwright.contracts import Candidate, KernelResources
from kernelwright.gpu.cubin import CubinError, kernel_resources
from kernelwright.gpu.occupancy import Occupancy, occupancy


class StaticAnalysis(BaseModel):
    arch: str
    resources: list[KernelResources] = Field(default_factory=list)
    kernel_names: list[str] = Field(default_factory=list)
    problems: list[str] = Field(default_factory=list, description="One line per source that did not build.")


def analyse_candidate(candidate: Candidate, arch: str) -> StaticAnalysis:
    """Never raises for a bad candidate: what failed goes into `problems`."""
    from kernelwright.sandbox.build.candidate_source import CandidateSyntaxError, cuda_sources, detect_build
    from kernelwright.sandbox.build.compile import CompileConfig, compile_cuda
    from kernelwright.sandbox.build.load_inline_extract import extract_device_code

    try:
        sources = cuda_sources(candidate.source)
        build = detect_build(candidate.source)
    except CandidateSyntaxError as err:
        return StaticAnalysis(arch=arch, problems=[str(err)])
    result = StaticAnalysis(arch=arch)
    if not sources:
        result.problems.append("static analysis: no CUDA source found in the candidate.")
    for index, source in enumerate(sources, 1):
        code = extract_device_code(source) if build == "compat" else source
        compiled = compile_cuda(code, arch, config=CompileConfig(nvcc_fallback=build == "native"))
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
