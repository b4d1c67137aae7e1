"""The profiled child's driver, run as its own process on the CPU (power mode; ncu mode needs a GPU)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from kernelwright.gpu.nvml import list_gpus

TASK = """
import torch
class Model(torch.nn.Module):
    def forward(self, x):
        return torch.relu(x)
def get_inputs():
    return [torch.randn(256, 1024)]
def get_init_inputs():
    return []
"""
CANDIDATE = """
import torch
class ModelNew(torch.nn.Module):
    def forward(self, x):
        return x.clamp_min(0)
"""


SOCKET_CANDIDATE = """
import socket
import torch
class ModelNew(torch.nn.Module):
    def forward(self, x):
        with socket.socket() as s:  # succeeds anywhere, unless the audit hooks stop it
            s.bind(("127.0.0.1", 0))
        return x.clamp_min(0)
"""


def _driver(tmp_path: Path, *args: str, candidate: str = CANDIDATE) -> subprocess.CompletedProcess:
    (tmp_path / "task.py").write_text(TASK)
    (tmp_path / "candidate.py").write_text(candidate)
    cmd = [
        sys.executable,
        "-m",
        "kernelwright.profiler.driver",
        "--task",
        "task.py",
        "--candidate",
        "candidate.py",
    ]
    return subprocess.run([*cmd, *args], cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_power_mode_runs_back_to_back_calls_and_reports_output_size(tmp_path: Path) -> None:
    proc = _driver(tmp_path, "--mode", "power", "--device", "cpu", "--min-seconds", "0.3", "--out", "r.json")
    assert proc.returncode == 0, proc.stderr
    result = json.loads((tmp_path / "r.json").read_text())
    assert result["output_bytes"] == 256 * 1024 * 4
    assert result["seconds"] >= 0.3 and result["calls"] >= 10 and result["calls"] % 10 == 0
    if not list_gpus():  # without a driver the observer stays silent instead of failing the loop
        assert result["reading"] is None and result["samples"] == []
    else:
        assert result["reading"]["calls"] == result["calls"] and result["samples"]


def test_ncu_mode_refuses_the_cpu(tmp_path: Path) -> None:
    proc = _driver(tmp_path, "--mode", "ncu", "--device", "cpu", "--out", "r.json")
    assert proc.returncode == 2 and "needs --device cuda" in proc.stderr


def test_profiled_candidate_keeps_the_sandbox_fences(tmp_path: Path) -> None:
    proc = _driver(
        tmp_path,
        "--mode",
        "power",
        "--device",
        "cpu",
        "--min-seconds",
        "0.1",
        "--out",
        "r.json",
        candidate=SOCKET_CANDIDATE,
    )
    assert proc.returncode != 0 and not (tmp_path / "r.json").exists()
    assert "kernelwright sandbox: opening a network socket" in proc.stderr
