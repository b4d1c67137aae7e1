"""The defines a candidate's builder passes reach every static compile in the parent (the sandbox's
static check, the Profiler's static figures, `analyze`) and every exported file. Before, only
CudaModule's options were read, and only by the static check: a cupy kernel using its own -DSCALE
was a compile_error before it ever ran, and the Judge's digest, `analyze` and `export --as
cupy|pycuda|files` failed or lost the define for any kernel that needs its -D (a TUNE'd one)."""

from __future__ import annotations

from pathlib import Path

from kernelwright.contracts import Candidate, Status
from kernelwright.kernelbench import find_task
from kernelwright.profiler.static import analyse_candidate, analyze_file
from kernelwright.report.export_common import cuda_text
from kernelwright.report.export_raw import device_source, kernel_table, raw_module
from kernelwright.sandbox.build.candidate_source import builder_options, cuda_sources
from kernelwright.sandbox.guard.static_check import StaticCheckConfig, static_verdict

HERE = Path(__file__).parent
NATIVE = (HERE / "honest" / "19_ReLU.native.py").read_text()
CUPY = (HERE / "loader_candidates" / "cupy_rawkernel_relu.py").read_text()
PYCUDA = (HERE / "loader_candidates" / "pycuda_sourcemodule_relu.py").read_text()
# Without the define the kernel does not compile: the compile shows whether the option reached it.
NEEDS_SCALE = ("y[i] = fmaxf(x[i], 0.f);", "y[i] = SCALE * fmaxf(x[i], 0.f);")

LOAD_INLINE = r'''
import torch
from torch.utils.cpp_extension import load_inline

cuda_source = r"""
#include <torch/extension.h>
__global__ void relu_kernel(const float* x, float* y, int n) {
    int i = blockIdx.x * BLOCK + threadIdx.x;
    if (i < n) y[i] = fmaxf(x[i], 0.f);
}
torch::Tensor relu_cuda(torch::Tensor x) {
    auto y = torch::empty_like(x);
    int n = x.numel();
    relu_kernel<<<(n + BLOCK - 1) / BLOCK, BLOCK>>>(x.data_ptr<float>(), y.data_ptr<float>(), n);
    return y;
}
"""
relu = load_inline(name="relu", cpp_sources="torch::Tensor relu_cuda(torch::Tensor x);",
                   cuda_sources=cuda_source, functions=["relu_cuda"],
                   extra_cuda_cflags=["-O3", "-DBLOCK=256", "-I/etc"])


class ModelNew(torch.nn.Module):
    def forward(self, x):
        return relu.relu_cuda(x)
'''


def _with_scale(source: str, build: str, with_options: str) -> str:
    old, new = NEEDS_SCALE
    assert old in source and build in source, (old, build)
    return source.replace(old, new, 1).replace(build, with_options, 1)


def _cupy_with_scale() -> str:
    return _with_scale(
        CUPY,
        'cupy.RawKernel(CUDA_SOURCE, "relu_kernel")',
        'cupy.RawKernel(CUDA_SOURCE, "relu_kernel", ("-DSCALE=1", "--use_fast_math"))',
    )


def _native_with_scale() -> str:
    return _with_scale(NATIVE, "CudaModule(CUDA_SOURCE)", 'CudaModule(CUDA_SOURCE, options=("-DSCALE=1",))')


def test_each_builder_hands_its_defines_to_the_parent_and_nothing_that_names_a_file() -> None:
    (cupy_source,) = cuda_sources(_cupy_with_scale())
    assert builder_options(_cupy_with_scale()) == {cupy_source: ("-DSCALE=1", "--use_fast_math")}
    pycuda = _with_scale(
        PYCUDA, "SourceModule(CUDA_SOURCE)", 'SourceModule(CUDA_SOURCE, options=["-DSCALE=1", "-I/etc"])'
    )
    (wrapped,) = cuda_sources(pycuda)
    assert wrapped.startswith('extern "C"') and builder_options(pycuda) == {wrapped: ("-DSCALE=1",)}
    # SourceModule's second position is the nvcc program, never options
    positional = PYCUDA.replace("SourceModule(CUDA_SOURCE)", 'SourceModule(CUDA_SOURCE, "-DSCALE=1")', 1)
    assert builder_options(positional) == {}
    (inline,) = cuda_sources(LOAD_INLINE)
    assert builder_options(LOAD_INLINE) == {inline: ("-DBLOCK=256",)}


def test_a_cupy_kernel_that_needs_its_define_passes_the_static_check() -> None:
    verdict = static_verdict(find_task("19_ReLU"), Candidate(source=_cupy_with_scale()), arch="sm_90")
    assert verdict.status == Status.ok, verdict.message
    without = _cupy_with_scale().replace('("-DSCALE=1", "--use_fast_math")', "()")
    failed = static_verdict(find_task("19_ReLU"), Candidate(source=without), arch="sm_90")
    assert failed.status == Status.compile_error and "SCALE" in failed.message


def test_a_load_inline_define_reaches_the_extracted_device_code_without_the_full_build() -> None:
    config = StaticCheckConfig(full_build_fallback=False)
    verdict = static_verdict(find_task("19_ReLU"), Candidate(source=LOAD_INLINE), arch="sm_90", config=config)
    assert verdict.status == Status.ok, verdict.message
    assert verdict.kernel_names == ["relu_kernel"]


def test_the_profilers_static_figures_and_analyze_compile_with_the_define(tmp_path: Path) -> None:
    analysis = analyse_candidate(Candidate(source=_native_with_scale()), "sm_90")
    assert analysis.problems == [] and [r.name for r in analysis.resources] == ["relu_kernel"]
    path = tmp_path / "scaled.py"
    path.write_text(_native_with_scale())
    report = analyze_file(path, arch="sm_90")
    assert report.ok, report.log
    assert [k.resources.name for k in report.kernels] == ["relu_kernel"]


def test_exports_write_the_defines_into_the_source_they_ship() -> None:
    for code in (_native_with_scale(), _cupy_with_scale(), LOAD_INLINE):
        source = device_source(code)
        table, _ = kernel_table(source)  # compiled with NVRTC at export time, without options
        assert list(table) == ["relu_kernel"]
    text = cuda_text(_native_with_scale())
    assert text.startswith("#define SCALE 1\n") and text.rstrip().endswith("#undef SCALE")


def test_raw_exports_compile_with_the_candidates_shared_switches() -> None:
    fields = {
        "task_key": "level1/19_ReLU",
        "run_id": "1",
        "attempt_id": "1",
        "gpu_name": "H100",
        "speedup_eager": "1.0",
    }
    for kind, std in (("cupy", "--std=c++17"), ("pycuda", "-std=c++17")):
        text = raw_module(kind, _cupy_with_scale(), fields)  # type: ignore[arg-type]
        namespace: dict[str, object] = {}
        exec(compile(text, f"{kind}_kernels.py", "exec"), namespace)  # numpy only; cupy is imported lazily
        assert tuple(namespace["OPTIONS"]) == (std, "--use_fast_math")  # type: ignore[arg-type]
        assert "#define SCALE 1" in str(namespace["CUDA_SOURCE"])
