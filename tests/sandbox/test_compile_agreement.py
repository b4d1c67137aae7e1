"""NVRTC's ptxas report must agree with `nvcc -cubin -Xptxas -v` on the same source and arch."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernelwright.sandbox.build import compile_cache
from kernelwright.sandbox.build.compile import CompileConfig, compile_cuda, nvcc_path

HONEST = Path(__file__).parent / "honest"

pytestmark = pytest.mark.skipif(nvcc_path() is None, reason="nvcc is not installed here")


def _cuda_of(candidate: str) -> str:
    from kernelwright.sandbox.build.candidate_source import cuda_sources

    (source,) = cuda_sources((HONEST / candidate).read_text())
    return source


@pytest.mark.parametrize(
    ("candidate", "arch"),
    [("6_Softmax.native.py", "sm_90"), ("1_Square_GEMM.native.py", "sm_90"), ("19_ReLU.native.py", "sm_80")],
)
def test_nvrtc_and_nvcc_report_the_same_resources(
    candidate: str, arch: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(compile_cache.CACHE_ENV, str(tmp_path))
    source = _cuda_of(candidate)
    nvrtc = compile_cuda(source, arch)
    nvcc = compile_cuda(source, arch, config=CompileConfig(backend="nvcc"))
    assert nvrtc.ok and nvcc.ok, nvrtc.log + nvcc.log
    assert (nvrtc.backend, nvcc.backend) == ("nvrtc", "nvcc")
    assert nvrtc.kernel_names == nvcc.kernel_names
    for a, b in zip(nvrtc.resources, nvcc.resources, strict=True):
        assert a.model_dump() == b.model_dump()
