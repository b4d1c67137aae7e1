"""Static figures read from the cubin match what ptxas itself reports (`-Xptxas -v`) for the same source."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kernelwright.gpu.cubin import CubinError, kernel_resources, parse_cubin
from kernelwright.sandbox.build.compile import CompileConfig, compile_cuda

SOURCE = Path(__file__).parent / "kernels" / "resource_mix.cu"
KERNELS = {"k_plain", "k_shared", "k_local", "k_const", "k_registers", "k_spill"}


def ptxas_report(log: str) -> dict[str, dict[str, int]]:
    """Per-kernel figures from a ptxas -v log, parsed independently of the code under test."""
    out: dict[str, dict[str, int]] = {}
    current = None
    for line in log.splitlines():
        if m := re.search(r"Compiling entry function '([^']+)'", line):
            current = out.setdefault(m.group(1), {"shared": 0, "cmem0": -1})
        elif current is None:
            continue
        elif m := re.search(
            r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads", line
        ):
            current.update(stack=int(m[1]), spill_stores=int(m[2]), spill_loads=int(m[3]))
        elif m := re.search(r"Used (\d+) registers", line):
            current["registers"] = int(m[1])
            if s := re.search(r"(\d+) bytes smem", line):
                current["shared"] = int(s[1])
            if c := re.search(r"(\d+) bytes cmem\[0\]", line):
                current["cmem0"] = int(c[1])
    return out


@pytest.fixture(scope="module", params=["sm_80", "sm_90"])
def nvcc_build(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> tuple[bytes, dict]:
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not installed; the NVRTC comparison still runs")
    out = tmp_path_factory.mktemp("cubin") / "mix.cubin"
    arch = request.param
    proc = subprocess.run(
        [nvcc, "-cubin", f"-arch={arch}", "-Xptxas", "-v", str(SOURCE), "-o", str(out)],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.read_bytes(), ptxas_report(proc.stdout + proc.stderr)


def test_cubin_figures_match_nvcc_ptxas_report(nvcc_build: tuple[bytes, dict]) -> None:
    cubin, report = nvcc_build
    kernels = {k.symbol: k for k in parse_cubin(cubin).kernels}
    assert set(kernels) == KERNELS == set(report)
    for name, expected in report.items():
        got = kernels[name]
        assert got.registers_per_thread == expected["registers"], name
        assert got.shared_bytes == expected["shared"], name
        assert got.local_bytes == expected["stack"], name
        if expected["cmem0"] >= 0:  # ptxas prints cmem[0] before sm_90 only
            assert got.constant_bytes == expected["cmem0"], name
    assert kernels["k_registers"].registers_per_thread >= 240
    assert kernels["k_shared"].shared_bytes == 4096 + 64 * 8
    assert kernels["k_local"].local_bytes >= 1024
    assert kernels["k_const"].max_threads_per_block == 256
    assert parse_cubin(cubin).user_constant_bytes == 1024


def test_nvrtc_cubin_matches_its_own_ptxas_report_including_spills() -> None:
    result = compile_cuda(SOURCE.read_text(), "sm_90", config=CompileConfig(use_cache=False))
    assert result.ok and result.cubin is not None
    report = ptxas_report(result.log)
    resources = {r.name: r for r in kernel_resources(result.cubin, "sm_90", ptxas=result.resources)}
    assert set(resources) == KERNELS
    for name, expected in report.items():
        got = resources[name]
        assert (got.registers_per_thread, got.shared_bytes, got.local_bytes) == (
            expected["registers"],
            expected["shared"],
            expected["stack"],
        ), name
        assert (got.spill_stores_bytes, got.spill_loads_bytes) == (
            expected["spill_stores"],
            expected["spill_loads"],
        )
    assert resources["k_spill"].spill_stores_bytes > 0
    assert resources["k_plain"].spill_stores_bytes == 0


def test_not_a_cubin_is_a_clear_error() -> None:
    with pytest.raises(CubinError, match="not a cubin"):
        parse_cubin(b"\x7fELF garbage that is not a cubin")
    with pytest.raises(CubinError):
        parse_cubin(b"plain text")
