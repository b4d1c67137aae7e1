"""The occupancy calculator against hand-checked cases and against NVIDIA's own calculator.

Hand-checked cases: limits from the CUDA C++ Programming Guide table "Technical Specifications per
Compute Capability", worked through the allocation rules of the CUDA Occupancy Calculator (the
same figures its spreadsheet and cudaOccupancyMaxActiveBlocksPerMultiprocessor give)."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kernelwright.gpu.occupancy import arch_limits, occupancy, occupancy_table

# (arch, threads, regs, shared) -> (blocks per SM, occupancy %, limiter)
HAND_CHECKED = [
    (("sm_90", 256, 32, 0), (8, 100.0, "warps")),
    (("sm_90", 256, 255, 0), (1, 12.5, "registers")),
    (("sm_90", 1024, 64, 0), (1, 50.0, "registers")),
    (("sm_90", 128, 32, 48 * 1024), (4, 25.0, "shared")),
    (("sm_80", 128, 64, 0), (8, 50.0, "registers")),
    (("sm_80", 256, 72, 0), (3, 37.5, "registers")),
    (("sm_80", 32, 16, 0), (32, 50.0, "blocks")),
    (("sm_86", 1024, 32, 0), (1, 66.67, "warps")),
    (("sm_89", 256, 40, 0), (6, 100.0, "warps")),
    (("sm_75", 64, 16, 0), (16, 100.0, "warps")),
    (("sm_70", 256, 64, 0), (4, 50.0, "registers")),
    (("sm_100", 512, 128, 0), (1, 25.0, "registers")),
]


@pytest.mark.parametrize(("config", "expected"), HAND_CHECKED)
def test_occupancy_matches_hand_checked_cases(config: tuple, expected: tuple) -> None:
    result = occupancy(*config)
    assert (result.blocks_per_sm, result.occupancy_pct, result.limiter) == expected


def test_a_block_that_cannot_launch_says_why() -> None:
    too_much_shared = occupancy("sm_90", 128, 32, 230 * 1024)
    assert too_much_shared.blocks_per_sm == 0 and too_much_shared.limiter == "shared"
    assert "cannot launch" in too_much_shared.message
    too_many_regs = occupancy("sm_80", 1024, 128, 0)
    assert too_many_regs.blocks_per_sm == 0 and too_many_regs.limiter == "registers"


def test_arch_spellings_and_newer_parts() -> None:
    assert arch_limits("9.0").arch == "sm_90"
    assert arch_limits("90").arch == "sm_90"
    assert arch_limits("sm_90a").arch == "sm_90"
    assert arch_limits("sm_103").arch == "sm_100"
    table = occupancy_table("sm_90", 255)
    assert [row.blocks_per_sm for row in table] == [4, 2, 1, 0, 0]


def _occupancy_header() -> str | None:
    roots = [os.environ.get("CUDA_HOME", ""), "/usr/local/cuda"] + glob.glob("/usr/local/cuda-*")
    roots += glob.glob(os.path.join(sys.prefix, "lib", "python3*", "site-packages", "nvidia", "cu1*"))
    for root in roots:
        if root and Path(root, "include", "cuda_occupancy.h").is_file():
            return str(Path(root, "include"))
    return None


@pytest.fixture(scope="module")
def nvidia_calculator(tmp_path_factory: pytest.TempPathFactory) -> Path:
    include = _occupancy_header()
    compiler = shutil.which("g++") or shutil.which("c++")
    if include is None or compiler is None:
        pytest.skip("cuda_occupancy.h or a C++ compiler is missing; hand-checked cases still ran")
    exe = tmp_path_factory.mktemp("occ") / "occupancy_reference"
    source = Path(__file__).parent / "native" / "occupancy_reference.cpp"
    subprocess.run([compiler, "-std=c++17", "-O1", f"-I{include}", str(source), "-o", str(exe)], check=True)
    return exe


def test_occupancy_matches_nvidia_calculator_on_a_grid(nvidia_calculator: Path) -> None:
    archs = {
        "sm_70": (7, 0),
        "sm_75": (7, 5),
        "sm_80": (8, 0),
        "sm_86": (8, 6),
        "sm_89": (8, 9),
        "sm_90": (9, 0),
    }
    grid = list(
        itertools.product(
            archs, (32, 96, 128, 256, 384, 512, 1024), (16, 32, 40, 64, 96, 128, 168, 255), (0, 4096, 40000)
        )
    )
    lines = "".join(f"{archs[a][0]} {archs[a][1]} {t} {r} {s}\n" for a, t, r, s in grid)
    out = subprocess.run(
        [str(nvidia_calculator)], input=lines, capture_output=True, text=True, check=True
    ).stdout
    reference = [int(x) for x in out.split()]
    ours = [occupancy(a, t, r, s).blocks_per_sm for a, t, r, s in grid]
    mismatches = [
        (cfg, mine, ref) for cfg, mine, ref in zip(grid, ours, reference, strict=True) if mine != ref
    ]
    assert len(grid) == len(reference) > 1000
    assert mismatches == []
