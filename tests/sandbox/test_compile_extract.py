"""Reading candidates statically (AST only) and extracting load_inline device code for NVRTC."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernelwright.sandbox.build import compile_cache
from kernelwright.sandbox.build.candidate_source import (
    CandidateFileError,
    CandidateSyntaxError,
    cuda_sources,
    detect_build,
    extract_device_code,
    read_candidate_file,
)
from kernelwright.sandbox.build.compile import CompileConfig, compile_cuda
from kernelwright.sandbox.build.load_inline_extract import extract, extraction_failed

HONEST = Path(__file__).parent / "honest"

LOAD_INLINE_CUDA = r"""#include <torch/extension.h>
#include <ATen/cuda/CUDAContext.h>
#include <vector>
#define CHECK_CUDA(x) TORCH_CHECK(x.is_cuda(), #x " must be CUDA")
#define BLOCK 256

__device__ __forceinline__ float gelu(float x) {
    return 0.5f * x * (1.f + tanhf(0.7978845608f * (x + 0.044715f * x * x * x)));
}

template <typename scalar_t>
__global__ void gelu_kernel(const scalar_t* __restrict__ x, scalar_t* __restrict__ y, int64_t n) {
    int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x;
    if (i < n) y[i] = gelu(x[i]);  // a "}" in a comment
}

namespace {
struct Pair { float a; float b; };
__global__ void pair_kernel(Pair* p, int n) { if (threadIdx.x < n) p[threadIdx.x].a = '}'; }
}

static int host_helper(int a) { return a + 1; }

torch::Tensor gelu_forward(torch::Tensor x) {
    CHECK_CUDA(x);
    auto y = torch::empty_like(x);
    int64_t n = x.numel();
    gelu_kernel<float><<<(n + BLOCK - 1) / BLOCK, BLOCK, 0, at::cuda::getCurrentCUDAStream()>>>(
        x.data_ptr<float>(), y.data_ptr<float>(), n);
    return y;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) { m.def("forward", &gelu_forward, "gelu"); }
"""


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(compile_cache.CACHE_ENV, str(tmp_path / "cache"))


def test_detect_build() -> None:
    assert detect_build((HONEST / "19_ReLU.native.py").read_text()) == "native"
    assert detect_build((HONEST / "13_SiLU.compat.py").read_text()) == "compat"
    assert (
        detect_build("import torch.utils.cpp_extension as ext\nm = ext.load_inline(name='x')\n") == "compat"
    )


def test_cuda_sources_from_constants_concatenation_and_literals() -> None:
    py = (
        'HEAD = "#define N 4\\n"\n'
        'BODY = HEAD + r"""extern "C" __global__ void a(float* x) { x[0] = N; }"""\n'
        "class ModelNew:\n"
        "    def __init__(self):\n"
        "        self.k1 = CudaModule(BODY)\n"
        '        self.k2 = CudaModule(source="extern \\"C\\" __global__ void b() {}")\n'
    )
    first, second = cuda_sources(py)
    assert first.startswith("#define N 4\n") and "void a(" in first
    assert "void b()" in second


def test_cuda_sources_of_load_inline_lists_and_the_last_resort() -> None:
    py = 'S = "__global__ void k() {}"\nm = load_inline(name="m", cpp_sources="", cuda_sources=[S, "x"])\n'
    assert cuda_sources(py) == ["__global__ void k() {}", "x"]
    assert cuda_sources('K = "__global__ void k() {}"\nOTHER = "text"\n') == ["__global__ void k() {}"]


def test_reading_sources_never_executes_the_candidate(tmp_path: Path) -> None:
    marker = tmp_path / "executed"
    py = f'open({str(marker)!r}, "w").write("x")\nraise SystemExit(3)\nK = "__global__ void k() {{}}"\n'
    assert cuda_sources(py) == ["__global__ void k() {}"]
    assert detect_build(py) == "native"
    assert not marker.exists()


def test_syntax_errors_and_unreadable_files_are_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(CandidateSyntaxError, match="line 2"):
        cuda_sources("x = 1\ndef broken(:\n")
    with pytest.raises(CandidateFileError, match="no such file"):
        read_candidate_file(tmp_path / "missing.py")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(CandidateFileError, match=r"Python file \(\.py\)"):
        read_candidate_file(tmp_path / "notes.txt")
    (tmp_path / "binary.py").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CandidateFileError, match="not UTF-8"):
        read_candidate_file(tmp_path / "binary.py")


def test_extracted_device_code_drops_host_code_and_keeps_kernels() -> None:
    code = extract_device_code(LOAD_INLINE_CUDA)
    for host in ("torch/extension.h", "torch::Tensor", "PYBIND11_MODULE", "host_helper", "<vector>"):
        assert host not in code
    for device in ("__device__ __forceinline__ float gelu", "gelu_kernel", "pair_kernel", "struct Pair"):
        assert device in code
    assert "template __global__ void gelu_kernel<float>(const float* __restrict__ x" in code


def test_extracted_code_compiles_with_nvrtc_and_instantiates_templates() -> None:
    result = compile_cuda(extract_device_code(LOAD_INLINE_CUDA), config=CompileConfig(nvcc_fallback=False))
    assert result.ok and result.backend == "nvrtc", result.log
    assert set(result.kernel_names) == {"gelu_kernel", "pair_kernel"}
    assert all(r.registers_per_thread > 0 for r in result.resources)
    assert result.elapsed_s < 30  # a hang guard only; bench_sandbox reports the figure


def test_errors_in_extracted_code_point_at_the_original_lines() -> None:
    broken = LOAD_INLINE_CUDA.replace("if (i < n) y[i] = gelu(x[i]);", "if (i < n) y[i] = gelu(x[i], oops);")
    extraction = extract(broken)
    result = compile_cuda(extraction.code, config=CompileConfig(nvcc_fallback=False))
    assert not result.ok
    line = broken.splitlines().index(next(ln for ln in broken.splitlines() if "oops" in ln)) + 1
    assert f"candidate.cu({line}): error" in result.log
    assert not extraction_failed(extraction, result.log)  # the kernel's own error: no full build


def test_an_error_caused_by_removed_host_code_asks_for_the_full_build() -> None:
    uses_host = LOAD_INLINE_CUDA.replace("y[i] = gelu(x[i]);", "y[i] = gelu(x[i]) + host_helper(1);")
    extraction = extract(uses_host)
    result = compile_cuda(extraction.code, config=CompileConfig(nvcc_fallback=False))
    assert not result.ok and extraction_failed(extraction, result.log)
    assert extraction_failed(
        extract("torch::Tensor f(torch::Tensor x) { return x; }"), ""
    )  # no kernel at all


def test_torch_load_is_not_a_compat_build() -> None:
    assert detect_build("import torch\nstate = torch.load('w.pt')\n") == "native"
    assert detect_build("from torch.utils.cpp_extension import load\n") == "compat"


def test_device_code_using_std_gets_libcuxx_on_a_retry() -> None:
    from kernelwright.sandbox.guard.static_check import compile_cuda_source

    source = LOAD_INLINE_CUDA.replace(
        "if (i < n) y[i] = gelu(x[i]);", "if (i < n) y[i] = std::min(gelu(x[i]), FLT_MAX);"
    )
    result = compile_cuda_source(source, "compat", "sm_90")
    assert result.ok and result.backend == "nvrtc" and "gelu_kernel" in result.kernel_names, result.log


def test_macro_like_names_ask_for_the_full_build() -> None:
    uses_macro = LOAD_INLINE_CUDA.replace("y[i] = gelu(x[i]);", "y[i] = gelu(x[i]) * SOME_TORCH_MACRO;")
    extraction = extract(uses_macro)
    result = compile_cuda(extraction.code, config=CompileConfig(nvcc_fallback=False))
    assert not result.ok and extraction_failed(extraction, result.log)
