"""`kernelwright analyze` (profiler/static.py's analyze_file) through the CLI's real entry point (in
process: argv, exit code, output), on the sandbox's corpus of honest candidates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernelwright.cli import main
from kernelwright.sandbox.build import compile_cache

HONEST = Path(__file__).parents[1] / "sandbox" / "honest"


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(compile_cache.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.setenv("COLUMNS", "160")


def run_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["kernelwright", *args])
    code = 0
    try:
        main()
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_analyze_prints_resources_and_occupancy(monkeypatch, capsys) -> None:
    code, out, _ = run_cli(monkeypatch, capsys, "analyze", str(HONEST / "1_Square_GEMM.native.py"))
    assert code == 0
    assert "sgemm_tiled" in out and "native build" in out and "sm_90" in out
    assert "8256" in out  # the two shared-memory tiles: 16*65*4 + 16*64*4 bytes
    assert "occupancy of sgemm_tiled" in out and "registers" in out


def test_analyze_json_for_a_compat_file_and_chosen_block_sizes(monkeypatch, capsys) -> None:
    path = HONEST / "8_RMSNorm.compat.py"
    code, out, _ = run_cli(
        monkeypatch, capsys, "analyze", str(path), "--arch", "sm_80", "--block-size", "512", "--json"
    )
    assert code == 0
    report = json.loads(out)
    assert report["ok"] and report["build"] == "compat" and report["backend"] == "nvrtc"
    (kernel,) = report["kernels"]
    assert kernel["resources"]["name"] == "rmsnorm_kernel" and kernel["resources"]["arch"] == "sm_80"
    assert kernel["resources"]["shared_bytes"] == 16 * 4
    assert [row["threads_per_block"] for row in kernel["occupancy"]] == [512]


def test_compile_error_exits_nonzero_with_the_trimmed_log(monkeypatch, capsys, tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text((HONEST / "12_GELU.native.py").read_text().replace("erff(", "erf_typo("))
    code, _, err = run_cli(monkeypatch, capsys, "analyze", str(broken))
    assert code == 1
    assert "compile error" in err and 'identifier "erf_typo" is undefined' in err and "candidate.cu(" in err


@pytest.mark.parametrize(
    ("make", "sentence"),
    [
        (lambda d: d / "missing.py", "no such file"),
        (lambda d: d, "not a file"),
        (lambda d: (d / "notes.txt", (d / "notes.txt").write_text("x"))[0], "a candidate is a Python file"),
        (lambda d: (d / "bad.py", (d / "bad.py").write_text("def f(:\n"))[0], "is not valid Python"),
    ],
)
def test_user_errors_are_one_sentence(monkeypatch, capsys, tmp_path: Path, make, sentence: str) -> None:
    code, out, err = run_cli(monkeypatch, capsys, "analyze", str(make(tmp_path)))
    assert code == 2 and sentence in err
    assert "Traceback" not in err + out and len(err.strip().splitlines()) == 1


def test_bad_arch_is_a_user_error(monkeypatch, capsys) -> None:
    code, _, err = run_cli(
        monkeypatch, capsys, "analyze", str(HONEST / "19_ReLU.native.py"), "--arch", "hopper"
    )
    assert code == 2 and "is not a GPU architecture" in err


def test_installed_entry_point_runs_analyze(tmp_path: Path) -> None:
    """One real subprocess, as a user runs it (the rest stay in process for speed)."""
    proc = subprocess.run(
        [sys.executable, "-m", "kernelwright.cli", "analyze", str(HONEST / "19_ReLU.native.py"), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, compile_cache.CACHE_ENV: str(tmp_path)},
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["kernels"][0]["resources"]["name"] == "relu_kernel"


def test_the_default_target_builds_a_wgmma_kernel(monkeypatch, capsys, tmp_path: Path) -> None:
    """Hopper's architecture-specific target is the default, so wgmma/TMA candidates build."""
    from tests.gpu.test_arch import WGMMA_FENCE

    candidate = tmp_path / "wgmma.py"
    candidate.write_text(
        "import torch\nfrom kernelwright.sandbox.native import CudaModule\n\n"
        f'SRC = r"""{WGMMA_FENCE}"""\n\n\n'
        "class ModelNew(torch.nn.Module):\n    def __init__(self):\n        super().__init__()\n"
        "        self.k = CudaModule(SRC)\n\n    def forward(self, x):\n"
        "        y = torch.empty(128, device=x.device)\n"
        '        self.k.launch("fence_kernel", grid=(1,), block=(128,), args=(y,))\n        return y\n'
    )
    code, out, err = run_cli(monkeypatch, capsys, "analyze", str(candidate))
    assert code == 0, out + err
    assert "fence_kernel" in out and "sm_90a" in out
