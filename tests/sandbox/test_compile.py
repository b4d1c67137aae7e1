"""compile_cuda with the real NVRTC (and nvcc where installed), on the CPU: no GPU is needed."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernelwright.errors import ConfigError
from kernelwright.sandbox.build import compile_cache
from kernelwright.sandbox.build.compile import (
    CompileConfig,
    compile_cuda,
    cubin_facts,
    demangled_base,
    nvcc_path,
    nvcc_version,
    nvrtc_version,
)

SHARED_RELU = r"""
extern "C" __global__ void relu_smem(const float* __restrict__ x, float* y, long long n) {
    __shared__ float buf[256];
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    buf[threadIdx.x] = i < n ? x[i] : 0.f;
    __syncthreads();
    if (i < n) y[i] = buf[threadIdx.x] > 0.f ? buf[threadIdx.x] : 0.f;
}
"""

# A per-thread array indexed by a runtime value cannot live in registers: it takes a stack frame.
LOCAL_ARRAY = r"""
__constant__ float table[16];
extern "C" __global__ void uses_local(float* o, int k) {
    float a[64];
    for (int i = 0; i < 64; ++i) a[(i * k) & 63] = table[i % 16] * o[i];
    o[threadIdx.x] = a[o[0] > 0.f ? 3 : 7];
}
"""

CPP_KERNELS = r"""
namespace ops { __global__ void scale(float* x, float s) { x[threadIdx.x] *= s; } }
__global__ void plain(float* x) { x[0] = 1.f; }
namespace { __global__ void hidden(int* p) { p[0] = 2; } }
template <typename T> __global__ void fill(T* p, T v) { p[threadIdx.x] = v; }
template __global__ void fill<float>(float*, float);
"""

TWO_ERRORS = r"""
extern "C" __global__ void broken(const float* x, float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = undefined_function(x[i]);
    float z = "not a float";
}
"""


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    folder = tmp_path / "cubin-cache"
    monkeypatch.setenv(compile_cache.CACHE_ENV, str(folder))
    yield folder


def test_nvrtc_compiles_to_a_cubin_with_resources() -> None:
    result = compile_cuda(SHARED_RELU, "sm_90")
    assert result.ok and result.backend == "nvrtc" and not result.cached
    assert result.cubin is not None and result.cubin[:4] == b"\x7fELF"
    assert result.kernel_names == ["relu_smem"]
    (res,) = result.resources
    assert res.name == "relu_smem" and res.arch == "sm_90"
    assert res.shared_bytes == 256 * 4
    assert 4 <= res.registers_per_thread <= 64
    assert res.spill_stores_bytes == res.spill_loads_bytes == res.local_bytes == 0
    assert res.constant_bytes > 0  # at least the parameter bank
    assert "cubin" not in json.loads(result.model_dump_json())


def test_stack_frame_and_constant_memory_are_reported() -> None:
    (res,) = compile_cuda(LOCAL_ARRAY, "sm_80").resources
    assert res.arch == "sm_80"
    assert res.local_bytes >= 64 * 4
    (bigger,) = compile_cuda(LOCAL_ARRAY.replace("table[16]", "table[64]"), "sm_80").resources
    assert bigger.constant_bytes - res.constant_bytes == (64 - 16) * 4  # __constant__ data counts


def test_launch_bounds_and_constants_agree_with_the_profilers_cubin_reading() -> None:
    from kernelwright.gpu.cubin import kernel_resources

    bounded = SHARED_RELU.replace("__global__ void", "__global__ void __launch_bounds__(256)", 1)
    result = compile_cuda(bounded, "sm_90")
    (res,) = result.resources
    assert res.max_threads_per_block == 256
    assert compile_cuda(SHARED_RELU, "sm_90").resources[0].max_threads_per_block is None
    (from_cubin,) = kernel_resources(result.cubin, "sm_90", names={v: k for k, v in result.symbols.items()})
    assert from_cubin.model_dump(exclude={"spill_stores_bytes", "spill_loads_bytes"}) == res.model_dump(
        exclude={"spill_stores_bytes", "spill_loads_bytes"}
    )


def test_cxx_kernels_are_launchable_by_their_source_names() -> None:
    result = compile_cuda(CPP_KERNELS)
    assert result.ok, result.log
    assert set(result.kernel_names) == {"ops::scale", "plain", "hidden", "fill"}
    assert result.symbols["plain"].startswith("_Z5plain")
    assert result.symbols["fill"].startswith("_Z4fillIfE")
    assert {r.name for r in result.resources} == set(result.kernel_names)


@pytest.mark.parametrize(
    ("symbol", "base"),
    [
        ("relu", "relu"),
        ("_Z11relu_kernelPKfPfx", "relu_kernel"),
        ("_ZN3ops5scaleEPff", "ops::scale"),
        ("_Z", "_Z"),
    ],
)
def test_demangled_base(symbol: str, base: str) -> None:
    assert demangled_base(symbol) == base


def test_compile_errors_come_back_trimmed_with_source_lines() -> None:
    result = compile_cuda(TWO_ERRORS)
    assert not result.ok and result.cubin is None
    assert "candidate.cu(4): error" in result.log and "undefined_function" in result.log
    assert "candidate.cu(5): error" in result.log and 'float z = "not a float";' in result.log
    assert "errors detected" not in result.log


def test_many_errors_are_cut_to_the_first_five() -> None:
    body = "\n".join(f"    int v{i} = missing_{i};" for i in range(12))
    result = compile_cuda(f'extern "C" __global__ void k() {{\n{body}\n}}\n')
    assert not result.ok
    assert "missing_0" in result.log and "missing_4" in result.log and "missing_5" not in result.log
    assert "and 7 more error(s)" in result.log


def test_a_second_compile_is_served_from_the_disk_cache(private_cache: Path) -> None:
    first = compile_cuda(SHARED_RELU, "sm_90")
    assert len(list(private_cache.glob("*.cubin"))) == 1
    start = time.perf_counter()
    second = compile_cuda(SHARED_RELU, "sm_90")
    hit_s = time.perf_counter() - start
    assert second.cached and second.cubin == first.cubin
    assert second.resources == first.resources and second.kernel_names == first.kernel_names
    assert hit_s < 1.0  # generous bound against a hang; the benchmark reports the real figure
    assert not compile_cuda(SHARED_RELU, "sm_80").cached  # arch is part of the key
    assert not compile_cuda(SHARED_RELU, "sm_90", ["-DVARIANT=1"]).cached  # so are options
    assert not compile_cuda(SHARED_RELU + "\n", "sm_90").cached  # and the source


def test_a_torn_cache_entry_is_recompiled_not_trusted(private_cache: Path) -> None:
    compile_cuda(SHARED_RELU)
    (cubin,) = private_cache.glob("*.cubin")
    cubin.write_bytes(cubin.read_bytes()[:100])
    again = compile_cuda(SHARED_RELU)
    assert again.ok and not again.cached and again.cubin is not None and len(again.cubin) > 100


def test_failed_compiles_are_not_cached(private_cache: Path) -> None:
    compile_cuda(TWO_ERRORS)
    assert not list(private_cache.iterdir()) if private_cache.exists() else True
    assert not compile_cuda(TWO_ERRORS).cached


def test_cache_can_be_switched_off(private_cache: Path) -> None:
    compile_cuda(SHARED_RELU, config=CompileConfig(use_cache=False))
    assert not private_cache.exists()


@pytest.mark.parametrize("arch", ["90", "sm90", "compute_90", "sm_9", ""])
def test_a_malformed_arch_is_a_user_error(arch: str) -> None:
    with pytest.raises(ConfigError, match="not a GPU architecture name"):
        compile_cuda(SHARED_RELU, arch)


def test_compiler_versions() -> None:
    version = nvrtc_version()
    assert version is not None and version.split(".")[0].isdigit()
    if nvcc_path():
        assert (nvcc_version() or "").count(".") >= 1


def test_cubin_facts_of_something_that_is_not_a_cubin_are_empty() -> None:
    assert cubin_facts(b"not an elf file", "sm_90") == {}


@pytest.mark.skipif(nvcc_path() is None, reason="nvcc is not installed here")
def test_nvcc_fallback_when_nvrtc_lacks_a_host_header() -> None:
    source = '#include <vector>\nextern "C" __global__ void k(float* x) { x[0] = 1.f; }\n'
    result = compile_cuda(source)
    assert result.ok and result.backend == "nvcc"
    assert result.warning and "vector" in result.warning
    assert result.kernel_names == ["k"]
    strict = compile_cuda(source, config=CompileConfig(nvcc_fallback=False))
    assert not strict.ok and "vector" in strict.log


@pytest.mark.skipif(nvcc_path() is None, reason="nvcc is not installed here")
def test_nvcc_reports_its_own_errors_trimmed() -> None:
    result = compile_cuda(TWO_ERRORS, config=CompileConfig(backend="nvcc"))
    assert not result.ok and result.backend == "nvcc"
    assert "candidate.cu(4): error" in result.log and "/tmp" not in result.log


@pytest.mark.parametrize(
    "include",
    ['#include "secret.txt"', "#include </etc/hostname>", "#include <../../etc/hostname>",
     '#define F "secret.txt"\n#include F', '#  include_next "x.h"'],
)  # fmt: skip
def test_includes_that_could_read_host_files_are_refused(include: str, tmp_path: Path, monkeypatch) -> None:
    """A compiler echoes what it read into the log, which is stored and shown to the LLM."""
    (tmp_path / "secret.txt").write_text("SECRET_TOKEN_123\n")
    monkeypatch.chdir(tmp_path)  # quoted includes are searched in the working directory
    result = compile_cuda(f'{include}\nextern "C" __global__ void k() {{}}\n')
    assert not result.ok and "SECRET_TOKEN_123" not in result.log
    assert "candidate.cu(" in result.log and "#include" in result.log


def test_standard_headers_in_quotes_or_brackets_are_fine() -> None:
    source = '#include "cuda_fp16.h"\n#include <cuda_bf16.h>\nextern "C" __global__ void k(__half* h) { h[0] = __float2half(1.f); }\n'
    assert compile_cuda(source).ok


@pytest.mark.skipif(nvcc_path() is None, reason="nvcc is not installed here")
def test_nvcc_inside_the_runner_stays_in_its_process_group() -> None:
    """isolate=False is the runner's setting: nvcc must stay in the candidate's process group, which
    the fork server kills whole; outside, it gets a session of its own for its timeout."""
    import os
    import subprocess

    source = 'extern "C" __global__ void k(float* x) { x[0] = 2.f; }\n'
    seen: list[bool] = []
    real_run = subprocess.run

    def recording_run(*args: object, **kwargs: object) -> object:
        if args and isinstance(args[0], list) and "-cubin" in args[0]:  # the compiles, not version probes
            seen.append(bool(kwargs.get("start_new_session")))
        return real_run(*args, **kwargs)  # type: ignore[call-overload]

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(subprocess, "run", recording_run)
        for isolate in (False, True):
            config = CompileConfig(backend="nvcc", isolate=isolate)
            assert compile_cuda(source + f"// {os.getpid()} {isolate}\n", config=config).ok
    assert seen == [False, True]
