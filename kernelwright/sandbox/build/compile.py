"""CUDA C++ to cubin on the CPU: NVRTC first, nvcc where NVRTC cannot build the source.

No GPU is needed: the target arch is named, ptxas runs inside NVRTC, and its `-v` report gives
registers, spills, shared and local memory per kernel. Successful compiles are cached on disk
(compile_cache), so re-checking a candidate costs milliseconds.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from kernelwright.contracts import KernelResources
from kernelwright.errors import ConfigError
from kernelwright.sandbox.build import compile_cache
from kernelwright.sandbox.build.compile_fork import ForkedCallError, call_in_fork
from kernelwright.sandbox.build.compile_log import parse_ptxas_resources, trim_error_log

ARCH_PATTERN = re.compile(r"^sm_\d{2,3}[af]?$")
SOURCE_NAME = "candidate.cu"
# NVRTC stops at a header it cannot find; those are the sources nvcc (with host headers) may build.
_MISSING_HEADER = re.compile(r"(could not|cannot) open source file")


_INCLUDE = re.compile(r"^[ \t]*#[ \t]*include(?:_next)?\b[ \t]*(.*)$", re.M)
_INCLUDE_TARGET = re.compile(r'([<"])([^>"]*)[>"]')


def forbidden_include(source: str) -> str | None:
    """An error line for an `#include` that could read a file outside the CUDA headers, else None.

    Compilers resolve quoted includes against the working directory, and the text of whatever they
    read comes back in the error log, which is stored and shown to the LLM. So: no absolute paths,
    no `..`, and quoted includes only for headers that exist in the CUDA include folders."""
    for match in _INCLUDE.finditer(source):
        line = source.count("\n", 0, match.start()) + 1
        target = _INCLUDE_TARGET.match(match.group(1).strip())
        if target is None:  # a computed include (#include MACRO) could name any file
            return f"{SOURCE_NAME}({line}): error: #include must name a header in <> or quotes"
        quote, name = target.group(1), target.group(2).strip()
        by_path = name.startswith("/") or ".." in name.split("/")
        unknown_local = quote == '"' and not any((Path(d) / name).is_file() for d in cuda_include_dirs())
        if by_path or unknown_local:
            return (
                f"{SOURCE_NAME}({line}): error: #include {quote}{name}{'>' if quote == '<' else quote} is not "
                "allowed: only standard CUDA headers can be included, not files by path"
            )
    return None


class CompileConfig(BaseModel):
    """How kernel sources are compiled."""

    use_cache: bool = True
    """Read and write the on-disk cubin cache (KERNELWRIGHT_CACHE_DIR)."""
    backend: Literal["nvrtc", "nvcc"] = "nvrtc"
    """Compiler tried first; 'nvcc' goes straight to nvcc (full builds of torch extensions)."""
    nvcc_fallback: bool = True
    """Retry with nvcc when NVRTC fails only because a header cannot be found."""
    nvcc_timeout_s: float = 300.0
    """Wall-time limit for one nvcc run; a torch-extension source can take minutes."""
    nvcc_include_dirs: list[str] = Field(default_factory=list)
    """Extra -I folders for nvcc only (e.g. torch's headers for a full load_inline build)."""
    cxx_std: str = "c++17"
    """C++ dialect; torch's own headers (full builds of load_inline sources) need c++20."""
    isolate: bool = True
    """Run NVRTC in a forked child (crash and hang safe); off inside the already isolated worker."""
    nvrtc_timeout_s: float = 120.0
    """Wall-time limit for one isolated NVRTC compile."""
    line_info: bool = True
    """Emit line information so profilers can point at source lines; does not change codegen."""


class CompileResult(BaseModel):
    """Outcome of one compile. `cubin` is left out of JSON: Verdicts carry resources, not binaries."""

    ok: bool
    backend: Literal["nvrtc", "nvcc"] = "nvrtc"
    arch: str = "sm_90"
    cubin: bytes | None = Field(None, exclude=True)
    kernel_names: list[str] = Field(default_factory=list, description="Launchable names, demangled.")
    symbols: dict[str, str] = Field(default_factory=dict, description="Kernel name -> cubin entry symbol.")
    resources: list[KernelResources] = Field(default_factory=list)
    log: str = Field("", description="Trimmed diagnostics with source lines (full ptxas report on success).")
    warning: str | None = Field(None, description="Set when a fallback was used, with the reason.")
    elapsed_s: float = 0.0
    cached: bool = False


def compile_cuda(
    source: str,
    arch: str = "sm_90",
    options: Sequence[str] = (),
    *,
    config: CompileConfig | None = None,
) -> CompileResult:
    """Compiles `source` to a cubin for `arch`; never raises for a bad source, only for a bad arch."""
    config = config or CompileConfig()
    if not ARCH_PATTERN.match(arch):
        raise ConfigError(f"'{arch}' is not a GPU architecture name; use the form sm_90 or sm_80.")
    start = time.perf_counter()
    refused = forbidden_include(source)
    if refused is not None:
        return CompileResult(ok=False, backend=config.backend, arch=arch, log=refused)
    if config.backend == "nvcc":
        result = _cached_or_compile(source, arch, options, "nvcc", nvcc_version(), config)
        result.elapsed_s = time.perf_counter() - start
        return result
    result = _cached_or_compile(source, arch, options, "nvrtc", nvrtc_version(), config)
    if not result.ok and config.nvcc_fallback and _MISSING_HEADER.search(result.log) and nvcc_path():
        nvcc_result = _cached_or_compile(source, arch, options, "nvcc", nvcc_version(), config)
        if nvcc_result.ok:
            first_line = result.log.splitlines()[0] if result.log else "NVRTC failed"
            nvcc_result.warning = f"NVRTC could not build this source ({first_line}); built with nvcc."
        result = nvcc_result
    result.elapsed_s = time.perf_counter() - start
    return result


def _cached_or_compile(
    source: str, arch: str, options: Sequence[str], backend: str, version: str | None, config: CompileConfig
) -> CompileResult:
    key = compile_cache.cache_key(source, arch, options, backend, version)
    if config.use_cache:
        hit = compile_cache.load(key)
        if hit is not None:
            cubin, meta = hit
            return CompileResult.model_validate({**meta, "cubin": cubin, "cached": True})
    if backend == "nvrtc" and config.isolate:
        result = _compile_nvrtc_isolated(source, arch, options, config)
    elif backend == "nvrtc":
        result = _compile_nvrtc(source, arch, options, config)
    else:
        result = _compile_nvcc(source, arch, options, config)
    if result.ok and result.cubin is not None and config.use_cache:
        meta = result.model_dump(mode="json", exclude={"cubin", "cached", "elapsed_s", "warning"})
        compile_cache.store(key, result.cubin, meta)
    return result


def _compile_nvrtc_isolated(
    source: str, arch: str, options: Sequence[str], config: CompileConfig
) -> CompileResult:
    try:
        return call_in_fork(lambda: _compile_nvrtc(source, arch, options, config), config.nvrtc_timeout_s)
    except ForkedCallError as err:
        return CompileResult(ok=False, backend="nvrtc", arch=arch, log=f"NVRTC: {err}.")


def _compile_nvrtc(source: str, arch: str, options: Sequence[str], config: CompileConfig) -> CompileResult:
    from cuda.bindings import nvrtc

    opts = [f"--gpu-architecture={arch}", f"--std={config.cxx_std}", "--ptxas-options=-v", *options]
    if config.line_info:
        opts.append("--generate-line-info")
    opts += [f"-I{d}" for d in cuda_include_dirs()]
    err, prog = nvrtc.nvrtcCreateProgram(source.encode(), SOURCE_NAME.encode(), 0, [], [])
    _check_nvrtc(err, "nvrtcCreateProgram")
    try:
        (status,) = nvrtc.nvrtcCompileProgram(prog, len(opts), [o.encode() for o in opts])
        log = _nvrtc_log(prog)
        if status != nvrtc.nvrtcResult.NVRTC_SUCCESS:
            trimmed = trim_error_log(log, source) or f"NVRTC failed: {status.name}"
            return CompileResult(ok=False, backend="nvrtc", arch=arch, log=trimmed)
        err, size = nvrtc.nvrtcGetCUBINSize(prog)
        _check_nvrtc(err, "nvrtcGetCUBINSize")
        cubin = b" " * size
        _check_nvrtc(nvrtc.nvrtcGetCUBIN(prog, cubin)[0], "nvrtcGetCUBIN")
    finally:
        nvrtc.nvrtcDestroyProgram(prog)
    return _success("nvrtc", arch, cubin, log)


def _compile_nvcc(source: str, arch: str, options: Sequence[str], config: CompileConfig) -> CompileResult:
    nvcc = nvcc_path()
    if nvcc is None:
        return CompileResult(ok=False, backend="nvcc", arch=arch, log="nvcc is not installed.")
    with tempfile.TemporaryDirectory(prefix="kw-nvcc-") as tmp:
        src, out = Path(tmp) / SOURCE_NAME, Path(tmp) / "candidate.cubin"
        src.write_text(source)
        cmd = [
            nvcc,
            "-cubin",
            f"-arch={arch}",
            f"-std={config.cxx_std}",
            "-Xptxas",
            "-v",
            "-o",
            str(out),
            str(src),
        ]
        cmd[1:1] = [*options, *(f"-I{d}" for d in config.nvcc_include_dirs)]
        if config.line_info:
            cmd.insert(1, "-lineinfo")
        try:
            # Outside the sandbox nvcc gets a session of its own, so its timeout kills it alone; inside
            # the runner (isolate=False) it stays in the candidate's process group, which the fork
            # server kills whole, and whose walls refuse a signal to any other group.
            proc = subprocess.run(
                cmd,
                cwd=tmp,
                capture_output=True,
                timeout=config.nvcc_timeout_s,
                start_new_session=config.isolate,
            )
        except subprocess.TimeoutExpired:
            msg = f"nvcc did not finish within {config.nvcc_timeout_s:.0f} s."
            return CompileResult(ok=False, backend="nvcc", arch=arch, log=msg)
        log = (proc.stdout + proc.stderr).decode(errors="replace").replace(str(src), SOURCE_NAME)
        if proc.returncode != 0 or not out.exists():
            return CompileResult(ok=False, backend="nvcc", arch=arch, log=trim_error_log(log, source))
        return _success("nvcc", arch, out.read_bytes(), log)


def _success(backend: Literal["nvrtc", "nvcc"], arch: str, cubin: bytes, log: str) -> CompileResult:
    raw = parse_ptxas_resources(log, arch)
    facts = cubin_facts(cubin, arch)
    raw = [
        r.model_copy(
            update={
                "constant_bytes": r.constant_bytes or facts.get(r.name, (0, None))[0],
                "max_threads_per_block": facts.get(r.name, (0, None))[1],
            }
        )
        for r in raw
    ]
    symbols = kernel_symbols([r.name for r in raw])
    display = {sym: name for name, sym in symbols.items()}
    resources = [r.model_copy(update={"name": display.get(r.name, r.name)}) for r in raw]
    lines = log.replace("\x00", "").splitlines()
    ptxas = "\n".join(ln for ln in lines if ln.startswith("ptxas") or "bytes stack frame" in ln)
    return CompileResult(
        ok=True,
        backend=backend,
        arch=arch,
        cubin=cubin,
        kernel_names=list(symbols),
        symbols=symbols,
        resources=resources,
        log=ptxas,
    )


def cubin_facts(cubin: bytes, arch: str) -> dict[str, tuple[int, int | None]]:
    """Entry symbol -> (constant bytes, max threads per block) as the cubin records them; {} when
    the bytes are not a cubin. CUDA 13's ptxas no longer prints `cmem[N]` with -v, and it never
    prints `__launch_bounds__`."""
    from kernelwright.gpu.cubin import CubinError, kernel_resources

    try:
        return {r.name: (r.constant_bytes, r.max_threads_per_block) for r in kernel_resources(cubin, arch)}
    except CubinError:
        return {}


def kernel_symbols(entries: Sequence[str]) -> dict[str, str]:
    """Maps launchable names to entry symbols: `extern "C"` names as they are, C++ kernels by their
    demangled base name when that is unambiguous, otherwise by the mangled symbol itself."""
    bases = {sym: demangled_base(sym) for sym in entries}
    counts: dict[str, int] = {}
    for base in bases.values():
        counts[base] = counts.get(base, 0) + 1
    return {(base if counts[base] == 1 else sym): sym for sym, base in bases.items()}


def demangled_base(symbol: str) -> str:
    """`_Z11relu_kernelPKfPfx` -> `relu_kernel`, `_ZN2ns3addEPf` -> `ns::add`; others unchanged.

    Only the qualified name is recovered (enough to launch by the name written in the source);
    parameter and template encodings are not needed for that."""
    if not symbol.startswith("_Z"):
        return symbol
    pos, nested = 2, symbol.startswith("_ZN")
    if nested:
        pos = 3
    parts: list[str] = []
    while pos < len(symbol) and symbol[pos].isdigit():
        digits = re.match(r"\d+", symbol[pos:])
        assert digits is not None
        length = int(digits.group())
        pos += len(digits.group())
        parts.append(symbol[pos : pos + length])
        pos += length
        if not nested:
            break
    parts = [p for p in parts if not p.startswith("_GLOBAL__N")]  # anonymous namespace
    return "::".join(parts) if parts else symbol


@functools.cache
def cuda_include_dirs() -> tuple[str, ...]:
    """CUDA headers NVRTC may need (cuda_fp16.h, cuda_bf16.h...): the pip wheel's, then the toolkit's."""
    found: list[str] = []
    try:
        import nvidia.cu13 as wheel  # the cuda-toolkit 13 wheel layout

        found += [str(Path(p) / "include") for p in wheel.__path__]
    except ImportError:
        pass
    for root in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH"), "/usr/local/cuda"):
        if root:
            found.append(str(Path(root) / "include"))
    roots = [d for d in found if (Path(d) / "cuda_runtime.h").is_file()]
    # libcu++ (cuda/std/...), needed by cooperative_groups and <cuda/...>, lives in include/cccl.
    cccl = [str(Path(d) / "cccl") for d in roots if (Path(d) / "cccl" / "cuda").is_dir()]
    return tuple(dict.fromkeys(roots + cccl))


@functools.cache
def nvrtc_version() -> str | None:
    """'13.0' for the loaded NVRTC library, None when NVRTC cannot be loaded."""
    try:
        from cuda.bindings import nvrtc

        err, major, minor = nvrtc.nvrtcVersion()
    except Exception:
        return None
    return f"{major}.{minor}" if err == nvrtc.nvrtcResult.NVRTC_SUCCESS else None


def nvcc_path() -> str | None:
    found = shutil.which("nvcc")
    if found:
        return found
    for root in (os.environ.get("CUDA_HOME"), "/usr/local/cuda"):
        if root and (Path(root) / "bin" / "nvcc").is_file():
            return str(Path(root) / "bin" / "nvcc")
    return None


@functools.cache
def nvcc_version() -> str | None:
    """'13.0.88' from `nvcc --version`, None when nvcc is missing or unreadable."""
    nvcc = nvcc_path()
    if nvcc is None:
        return None
    try:
        out = subprocess.run([nvcc, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"V(\d+\.\d+\.\d+)", out) or re.search(r"release (\d+\.\d+)", out)
    return match.group(1) if match else None


def _nvrtc_log(prog: object) -> str:
    from cuda.bindings import nvrtc

    err, size = nvrtc.nvrtcGetProgramLogSize(prog)
    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS or size <= 1:
        return ""
    buf = b" " * int(size)
    nvrtc.nvrtcGetProgramLog(prog, buf)
    return buf.decode(errors="replace").rstrip("\x00")


def _check_nvrtc(err: object, call: str) -> None:
    from cuda.bindings import nvrtc

    if err != nvrtc.nvrtcResult.NVRTC_SUCCESS:
        raise RuntimeError(f"{call} failed: {err}")
