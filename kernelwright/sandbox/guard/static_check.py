"""Guard and compile on the CPU, without running anything: what `--compile-only` and `analyze` use.

Native candidates compile their CUDA strings with NVRTC. Compat (load_inline) candidates compile the
extracted device code with NVRTC; only when the extraction itself is what failed (a header or host
name the device code needed) does it fall back to nvcc on the full extension source with torch's
headers, which takes minutes, and says so in the verdict.
"""

from __future__ import annotations

import sysconfig
import time
from collections.abc import Sequence

from pydantic import BaseModel

from kernelwright.contracts import Candidate, KernelResources, Status, Task, Verdict
from kernelwright.sandbox.build.candidate_source import (
    CandidateSyntaxError,
    builder_options,
    cuda_sources,
    detect_build,
)
from kernelwright.sandbox.build.compile import CompileConfig, CompileResult, compile_cuda, cuda_include_dirs
from kernelwright.sandbox.build.load_inline_extract import NEEDS_STD, extract, extraction_failed
from kernelwright.sandbox.guard.policy import check

ENABLING_RULES = {"harness-import"}


class StaticCheckConfig(BaseModel):
    """Settings of the CPU-only check."""

    full_build_fallback: bool = True
    """For load_inline files whose device code cannot be extracted, build the full source with nvcc."""
    full_build_timeout_s: float = 600.0
    """Wall-time limit of that full build (a torch extension takes minutes on 2 cores)."""


def static_verdict(
    task: Task,
    candidate: Candidate,
    *,
    arch: str = "sm_90",
    allow_torch: bool = False,
    config: StaticCheckConfig | None = None,
    filename: str = "candidate.py",
) -> Verdict:
    """`rejected` (guard findings), `compile_error` (trimmed log) or `ok` with resources and kernel names.
    `filename` names the file in a syntax error's message."""
    config = config or StaticCheckConfig()
    start = time.perf_counter()
    findings = check(task, candidate, allow_torch=allow_torch, filename=filename)
    guard_s = time.perf_counter() - start
    if findings:
        # An import of the harness only enables an act (patching the verifier, say); when the file
        # also does the act, the verdict names the act.
        first = next((f for f in findings if f.rule not in ENABLING_RULES), findings[0])
        where = f"line {first.line}: " if first.line else ""
        return Verdict(
            status=Status.rejected,
            rule=first.rule,
            message=f"The static guard found {len(findings)} problem(s); "
            f"{'first' if first is findings[0] else 'chiefly'}: {where}{first.message}",
            findings=findings,
            elapsed_s={"guard": guard_s},
        )
    try:
        build, sources = detect_build(candidate.source), cuda_sources(candidate.source)
    except CandidateSyntaxError as err:  # check() reports syntax as a finding, so this is unreachable
        return Verdict(status=Status.compile_error, message=str(err), elapsed_s={"guard": guard_s})
    if not sources:
        status = Status.ok if allow_torch else Status.compile_error
        message = "No CUDA source found (put it in a module-level string constant passed to CudaModule)."
        return Verdict(status=status, message=message, elapsed_s={"guard": guard_s})
    compile_start = time.perf_counter()
    options = builder_options(candidate.source)
    results = [
        compile_cuda_source(source, build, arch, config, options.get(source, ())) for source in sources
    ]
    elapsed = {"guard": guard_s, "compile": time.perf_counter() - compile_start}
    return _verdict_from(results, arch, elapsed)


def compile_cuda_source(
    source: str,
    build: str,
    arch: str,
    config: StaticCheckConfig | None = None,
    options: Sequence[str] = (),
) -> CompileResult:
    """One CUDA string of a candidate: NVRTC for native, extracted device code for compat; either
    with the static options its builder passes (builder_options)."""
    config = config or StaticCheckConfig()
    if build == "native":
        return compile_cuda(source, arch, options)
    extraction = extract(source)
    result = compile_cuda(extraction.code, arch, options, config=CompileConfig(nvcc_fallback=False))
    if not result.ok and NEEDS_STD.search(result.log):
        extraction = extract(source, std_shim=True)
        result = compile_cuda(extraction.code, arch, options, config=CompileConfig(nvcc_fallback=False))
    extraction_ok = result.ok and bool(result.kernel_names)
    if extraction_ok or (not result.ok and not extraction_failed(extraction, result.log)):
        return result
    if not config.full_build_fallback:
        return result
    full = compile_cuda(
        source, arch, [*torch_extension_options(), *options], config=_full_build_config(config)
    )
    lines = result.log.splitlines() if not result.ok else []
    reason = lines[0] if lines else "no kernel found"
    full.warning = f"device code extraction failed ({reason}); built the full extension source with nvcc."
    return full


def _full_build_config(config: StaticCheckConfig) -> CompileConfig:
    from torch.utils.cpp_extension import include_paths

    # torch's CUDA headers include the CUDA libraries' headers (cusparse.h...): the wheel's folder
    # has them where the toolkit install may not.
    includes = [*include_paths(), sysconfig.get_paths()["include"], *cuda_include_dirs()]
    return CompileConfig(
        backend="nvcc",
        nvcc_include_dirs=includes,
        nvcc_timeout_s=config.full_build_timeout_s,
        cxx_std="c++20",
    )


def torch_extension_options() -> list[str]:
    """The defines torch's extension builder passes, so torch/extension.h compiles as in load_inline."""
    return [
        "-DTORCH_EXTENSION_NAME=kernelwright_candidate",
        "-DTORCH_API_INCLUDE_EXTENSION_H",
        "--expt-relaxed-constexpr",
        "-D__CUDA_NO_HALF_OPERATORS__",
        "-D__CUDA_NO_HALF_CONVERSIONS__",
        "-D__CUDA_NO_BFLOAT16_CONVERSIONS__",
        "-D__CUDA_NO_HALF2_OPERATORS__",
    ]


def _verdict_from(results: list[CompileResult], arch: str, elapsed: dict[str, float]) -> Verdict:
    warnings = [r.warning for r in results if r.warning]
    failed = next(((i, r) for i, r in enumerate(results) if not r.ok), None)
    if failed is not None:
        index, result = failed
        label = f"CUDA source {index + 1}" if len(results) > 1 else "The CUDA source"
        first = next((ln for ln in result.log.splitlines() if ln.strip()), "no log")
        return Verdict(
            status=Status.compile_error,
            message=f"{label} failed to compile with {result.backend} for {arch}: {first}",
            log="\n".join([*warnings, result.log]),
            elapsed_s=elapsed,
        )
    resources: list[KernelResources] = [k for r in results for k in r.resources]
    names = [n for r in results for n in r.kernel_names]
    backends = sorted({r.backend for r in results})
    message = f"Guard clean; {len(names)} kernel(s) compiled for {arch} with {'/'.join(backends)}."
    if not names:
        message = f"Guard clean and compiled for {arch}, but no kernel was instantiated (templates only?)."
    return Verdict(
        status=Status.ok,
        message=message + (f" {warnings[0]}" if warnings else ""),
        log="\n".join(warnings),
        resources=resources,
        kernel_names=names,
        elapsed_s=elapsed,
    )
