"""The `profile` command through the real CLI entry point."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CASES = Path(__file__).parent / "gpu_cases"


def _cli(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KERNELWRIGHT_NCU")}
    return subprocess.run(
        [sys.executable, "-m", "kernelwright.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_profile_without_gpu_is_one_sentence_pointing_at_analyze() -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this checks the no-GPU answer")
    proc = _cli("profile", "--task", str(CASES / "relu_task.py"), str(CASES / "relu_candidate.py"))
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr
    message = " ".join(proc.stderr.split())
    assert (
        message.startswith("error:")
        and "needs an NVIDIA GPU" in message
        and "kernelwright analyze" in message
    )


def test_profile_of_a_missing_candidate_is_one_sentence() -> None:
    proc = _cli("profile", "--task", str(CASES / "relu_task.py"), str(CASES / "no_such_candidate.py"))
    assert proc.returncode == 2 and "no such file" in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.gpu
def test_profile_prints_digest_and_metric_table_on_a_gpu() -> None:
    # ncu and NVML are exercised by test_gpu_profile; here the command's wiring and output.
    proc = _cli(
        "profile",
        "--no-ncu",
        "--no-power",
        "--task",
        str(CASES / "relu_task.py"),
        str(CASES / "relu_candidate.py"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "Roofline:" in proc.stdout and "relu_kernel" in proc.stdout and "metrics" in proc.stdout
