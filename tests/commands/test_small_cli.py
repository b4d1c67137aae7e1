"""The small things of issue 11, item 9: --version, flags without a type in --help, counts in the
singular, `show` messages whole, `analyze --arch` checked before NVRTC."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from typer.testing import CliRunner

from kernelwright import __version__
from kernelwright.cli import app
from kernelwright.commands.optimize import headline
from kernelwright.gpu.arch import check_arch
from kernelwright.gpu.names import short_gpu_name, short_gpu_names

ONE_TASK = """import torch

class Model(torch.nn.Module):
    def forward(self, x):
        return x * 2

def get_inputs():
    return [torch.randn(8)]

def get_init_inputs():
    return []
"""


def kernelwright(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from kernelwright.cli import main; main()", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=120, env=dict(os.environ, COLUMNS="80")
    )


def test_version() -> None:
    result = kernelwright("--version")
    assert result.returncode == 0 and result.stdout.strip() == f"kernelwright {__version__}"


def test_flags_show_no_bool_type_in_help() -> None:
    result = CliRunner().invoke(app, ["verify", "--help"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    assert "--allow-torch" in result.stdout and "<bool>" not in result.stdout
    assert "<int range>" in result.stdout  # options that take a value keep theirs


def test_analyze_unknown_arch_is_a_usage_error(tmp_path: Path) -> None:
    candidate = tmp_path / "k.py"
    candidate.write_text("x = 1\n")
    result = kernelwright("analyze", str(candidate), "--arch", "sm_999")
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: --arch 'sm_999' is not a GPU architecture")
    assert len(result.stderr.strip().splitlines()) == 1
    for arch in ("sm_80", "sm_90a", "sm_100f", "sm_120"):
        assert check_arch(arch) == arch


def test_show_messages_are_shortened_between_words() -> None:
    message = "Guard clean; 1 kernel(s) compiled " + "and verified against the reference " * 8
    short = headline(message, width=60)
    assert len(short) <= 60 and short.endswith(" …")
    assert message.startswith(short.removesuffix(" …"))
    assert message[len(short.removesuffix(" …"))] == " "  # the cut falls between words
    assert headline("first line\nsecond") == "first line"


def test_gpu_names_are_short_and_stay_distinct() -> None:
    assert short_gpu_name("NVIDIA H100 80GB HBM3") == "H100 80GB"
    assert short_gpu_name("NVIDIA GeForce RTX 4090") == "RTX 4090"
    assert short_gpu_name("NVIDIA A10") == "A10"
    both = short_gpu_names(["NVIDIA H100 80GB HBM3", "NVIDIA H100 80GB HBM3e", "NVIDIA A10"])
    assert both["NVIDIA A10"] == "A10" and both["NVIDIA H100 80GB HBM3"] == "NVIDIA H100 80GB HBM3"


def test_one_task_is_counted_in_the_singular(tmp_path: Path) -> None:
    (tmp_path / "level1").mkdir()
    (tmp_path / "level1" / "1_Double.py").write_text(ONE_TASK)
    result = CliRunner().invoke(app, ["tasks", "list", "--suite", str(tmp_path)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "1 task in" in result.stdout and "1 tasks" not in result.stdout


def test_help_at_80_columns_wraps_and_cuts_nothing() -> None:
    for args in ((), ("optimize",), ("batch",), ("tasks",), ("verify",)):
        result = kernelwright(*args, "--help")
        assert result.returncode == 0, result.stderr
        lines = result.stdout.splitlines()
        assert max(len(line) for line in lines) <= 80
        assert "…" not in result.stdout and "..." not in result.stdout.replace("[ARGS]...", "")
        assert "<bool>" not in result.stdout


def test_compact_gpu_names_for_chart_labels_stay_distinct() -> None:
    names = ["NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB", "NVIDIA GeForce RTX 4090", "NVIDIA A10"]
    assert short_gpu_names(names, compact=True) == {
        "NVIDIA H100 80GB HBM3": "H100", "NVIDIA A100-SXM4-80GB": "A100",
        "NVIDIA GeForce RTX 4090": "RTX 4090", "NVIDIA A10": "A10",
    }  # fmt: skip
    pair = short_gpu_names(["NVIDIA H100 80GB HBM3", "NVIDIA H100 PCIe"], compact=True)
    assert pair == {"NVIDIA H100 80GB HBM3": "H100 80GB", "NVIDIA H100 PCIe": "H100 PCIe"}
