"""static_verdict: guard + compile on the CPU (what --compile-only uses), on the honest corpus and
on broken candidates; and, on a GPU, the honest corpus verified ok by the full sandbox."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kernelwright.contracts import Candidate, Status, Task, Verdict
from kernelwright.kernelbench.suite import find_task
from kernelwright.sandbox.build import compile_cache
from kernelwright.sandbox.build.candidate_source import detect_build
from kernelwright.sandbox.guard.static_check import static_verdict

HONEST = Path(__file__).parent / "honest"
HONEST_FILES = sorted(HONEST.glob("*.py"))


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(compile_cache.CACHE_ENV, str(tmp_path / "cache"))


def honest_case(path: Path) -> tuple[Task, Candidate]:
    """Files are named <task>.<build>.py after the bundled task they solve."""
    task_name, build, _ = path.name.split(".")
    source = path.read_text()
    assert detect_build(source) == build
    return find_task(f"level1/{task_name}"), Candidate(source=source, build=build)


def test_the_corpus_has_three_native_and_two_compat_candidates() -> None:
    builds = [p.name.split(".")[1] for p in HONEST_FILES]
    assert builds.count("native") >= 3 and builds.count("compat") >= 2


@pytest.mark.parametrize("path", HONEST_FILES, ids=lambda p: p.name)
def test_honest_candidates_pass_the_static_check(path: Path) -> None:
    task, candidate = honest_case(path)
    verdict = static_verdict(task, candidate, arch="sm_90")
    assert verdict.status == Status.ok, verdict.message + verdict.log
    assert verdict.findings == []
    assert verdict.kernel_names and len(verdict.resources) == len(verdict.kernel_names)
    assert all(r.registers_per_thread > 0 and r.arch == "sm_90" for r in verdict.resources)
    assert verdict.elapsed_s["guard"] >= 0 and verdict.elapsed_s["compile"] > 0
    assert verdict.device == "cpu"


def test_guard_findings_reject_before_compiling() -> None:
    task, candidate = honest_case(HONEST / "19_ReLU.native.py")
    hostile = candidate.source.replace("        x = x.contiguous()", "        x = torch.relu(x).contiguous()")
    verdict = static_verdict(task, Candidate(source=hostile))
    assert verdict.status == Status.rejected and verdict.rule == "torch-op-in-forward"
    assert "line" in verdict.message and verdict.findings[0].line is not None
    assert "compile" not in verdict.elapsed_s
    assert static_verdict(task, Candidate(source=hostile), allow_torch=True).status == Status.ok


def test_the_verdict_names_the_act_not_the_harness_import_that_enabled_it() -> None:
    task, candidate = honest_case(HONEST / "19_ReLU.native.py")
    patched = "import kernelwright.sandbox.judge.compare as jc\njc.compare = print\n" + candidate.source
    verdict = static_verdict(task, Candidate(source=patched), allow_torch=True)
    assert verdict.rule == "monkeypatch" and "chiefly" in verdict.message
    assert [f.rule for f in verdict.findings] == ["harness-import", "monkeypatch"]
    imported = static_verdict(
        task, Candidate(source="import kernelwright.sandbox.judge\n" + candidate.source)
    )
    assert (imported.status, imported.rule) == (Status.rejected, "harness-import")
    assert "first" in imported.message


def test_compile_errors_come_back_with_the_trimmed_log() -> None:
    task, candidate = honest_case(HONEST / "12_GELU.native.py")
    broken = candidate.source.replace("erff(v * 0.70710678118654752f)", "erff(v * SQRT_HALF)")
    verdict = static_verdict(task, Candidate(source=broken))
    assert verdict.status == Status.compile_error
    assert 'identifier "SQRT_HALF" is undefined' in verdict.message
    assert "SQRT_HALF" in verdict.log and "candidate.cu(" in verdict.log
    assert verdict.resources == []


def test_compat_compile_errors_point_at_the_kernel_line() -> None:
    task, candidate = honest_case(HONEST / "13_SiLU.compat.py")
    broken = candidate.source.replace("y[i] = v / (1.0f + expf(-v));", "y[i] = v / (1.0f + expf(-v)) + w;")
    verdict = static_verdict(task, Candidate(source=broken, build="compat"))
    assert verdict.status == Status.compile_error and 'identifier "w" is undefined' in verdict.log
    assert "with nvrtc" in verdict.message  # the kernel's own error: no minutes-long full build


def test_pure_pytorch_candidate_with_allow_torch_has_nothing_to_compile() -> None:
    task = find_task("level1/19_ReLU")
    source = "import torch\n\nclass ModelNew(torch.nn.Module):\n    def forward(self, x):\n        return torch.relu(x)\n"
    assert static_verdict(task, Candidate(source=source)).rule == "no-custom-kernel"
    verdict = static_verdict(task, Candidate(source=source), allow_torch=True)
    assert verdict.status == Status.ok and verdict.kernel_names == []


@pytest.fixture(scope="module")
def gpu_sandbox() -> Iterator[object]:
    from kernelwright.sandbox.evaluate import Sandbox, SandboxConfig

    # Fewer timed calls than the default keep the GPU suite short; correctness trials stay >= 3.
    config = SandboxConfig(device="cuda", trials=3, timing_min_calls=20, timing_min_seconds=0.2)
    with Sandbox(config) as sandbox:
        yield sandbox


# A load_inline file builds a torch extension inside the worker: a minute or more per file.
GPU_CASES = [pytest.param(p, marks=[pytest.mark.slow] if ".compat." in p.name else []) for p in HONEST_FILES]


@pytest.mark.gpu
@pytest.mark.parametrize("path", GPU_CASES, ids=lambda p: p.name)
def test_honest_candidates_verify_ok_on_a_gpu(
    path: Path, gpu_sandbox: Callable[[Task, Candidate], Verdict]
) -> None:
    task, candidate = honest_case(path)
    verdict = gpu_sandbox(task, candidate)
    assert verdict.status in (Status.ok, Status.suspicious), (
        f"{verdict.status}: {verdict.message}\n{verdict.log}"
    )
    assert verdict.findings == [] and verdict.trials and all(t.passed for t in verdict.trials)
    assert verdict.candidate_timing is not None and verdict.speedup_vs_eager is not None
    assert set(verdict.kernel_names) == {r.name for r in verdict.resources}
    print(f"{path.name}: {verdict.status} speedup_vs_eager={verdict.speedup_vs_eager:.2f}")


MACRO_KERNEL_COMPAT = '''
import torch
from torch.utils.cpp_extension import load_inline

SRC = r"""
#include <vector>
#define KERNEL extern "C" __global__ void
KERNEL twice(float* x, int n) { int i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) x[i] *= 2.f; }
"""
ext = load_inline(name="kw_macro_kernel", cpp_sources="", cuda_sources=SRC, functions=[])


class ModelNew(torch.nn.Module):
    def forward(self, x):
        return ext.twice(x)
'''


def test_when_extraction_finds_no_kernel_the_full_build_decides_with_a_warning() -> None:
    """The kernel hides behind a macro, so extraction finds nothing and nvcc builds the whole source
    with torch's include paths and defines (fast here: this source does not include torch)."""
    task = find_task("level1/19_ReLU")
    verdict = static_verdict(task, Candidate(source=MACRO_KERNEL_COMPAT, build="compat"), allow_torch=True)
    assert verdict.status == Status.ok, verdict.message + verdict.log
    assert verdict.kernel_names == ["twice"] and verdict.resources[0].registers_per_thread > 0
    assert "extraction failed" in verdict.message and "nvcc" in verdict.log


@pytest.mark.slow
def _torch_cuda_library_headers() -> bool:
    """ATen's CUDA headers include cuSPARSE/cuBLAS; their headers come with torch's CUDA wheels."""
    from kernelwright.sandbox.guard.static_check import StaticCheckConfig, _full_build_config

    dirs = _full_build_config(StaticCheckConfig()).nvcc_include_dirs
    return any((Path(d) / "cusparse.h").is_file() for d in dirs)


def test_extracted_device_code_matches_the_full_torch_extension_build() -> None:
    """The shortcut must not change the answer: NVRTC on the extracted device code reports the same
    resources as nvcc on the whole load_inline source with torch's headers (~1.5 min on 2 cores)."""
    from kernelwright.sandbox.build.candidate_source import cuda_sources
    from kernelwright.sandbox.build.compile import compile_cuda, nvcc_path
    from kernelwright.sandbox.guard.static_check import (
        StaticCheckConfig,
        _full_build_config,
        compile_cuda_source,
        torch_extension_options,
    )

    if nvcc_path() is None:
        pytest.skip("nvcc is not installed here")
    if not _torch_cuda_library_headers():
        pytest.skip("the full torch extension build needs cusparse.h, which a CUDA build of torch brings")
    (source,) = cuda_sources((HONEST / "13_SiLU.compat.py").read_text())
    extracted = compile_cuda_source(source, "compat", "sm_90")
    full = compile_cuda(
        source, "sm_90", torch_extension_options(), config=_full_build_config(StaticCheckConfig())
    )
    assert extracted.backend == "nvrtc" and full.backend == "nvcc" and full.ok, full.log
    assert extracted.kernel_names == full.kernel_names == ["silu_kernel"]
    fields = (
        "registers_per_thread",
        "spill_stores_bytes",
        "spill_loads_bytes",
        "shared_bytes",
        "local_bytes",
    )
    for a, b in zip(extracted.resources, full.resources, strict=True):
        assert a.model_dump(include=set(fields)) == b.model_dump(include=set(fields))


def test_the_static_compile_takes_a_cuda_modules_defines_but_no_file_options() -> None:
    """The runner compiles with the module's options, so the static resources must too (a TUNE
    variant's -D); an option naming a file would be read in the parent and could be echoed."""
    from kernelwright.sandbox.build.candidate_source import builder_options

    source = (
        'TUNE = {"N": 4, "S": -0.5}\nSRC = "__global__ void k() {}"\n'
        'm = CudaModule(SRC, options=(f"-DN={TUNE[\'N\']}", f"-DS={TUNE[\'S\']}", "--use_fast_math", '
        '"--pre-include=/etc/passwd", "-I/home", "-DX=$(id)", "-DY=1\\n"))\n'
    )
    expected = ("-DN=4", "-DS=-0.5", "--use_fast_math")
    assert builder_options(source) == {"__global__ void k() {}": expected}
    assert builder_options('m = CudaModule("__global__ void k() {}")\n') == {}
