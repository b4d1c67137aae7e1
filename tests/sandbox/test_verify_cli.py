"""`kernelwright verify` as a user runs it: a real subprocess, exit codes per status, JSON, and one
clean sentence (no traceback) for what a user can get wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kernelwright.commands.verify import EXIT_CODES
from kernelwright.contracts import Status
from kernelwright.gpu.availability import gpu_available

HACKS = Path(__file__).parent / "hacks"
RELU = str(HACKS / "tasks" / "relu.py")
QUICK = ["--device", "cpu", "--trials", "5"]


def kw(*args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kernelwright", *args], capture_output=True, text=True,
                          timeout=timeout)  # fmt: skip


def test_exit_codes_are_distinct_and_documented() -> None:
    assert len(set(EXIT_CODES.values())) == len(Status) and EXIT_CODES[Status.ok] == 0
    assert not {2, 3} & set(EXIT_CODES.values())  # bad input and "no GPU" keep their own codes
    result = kw("verify", "--help")
    assert result.returncode == 0
    text = " ".join(result.stdout.split())
    for status, code in EXIT_CODES.items():
        assert f"{code} {status.value}" in text


def test_honest_candidate_json_and_exit_zero() -> None:
    result = kw("verify", "--task", RELU, str(HACKS / "honest_relu.py"), *QUICK, "--allow-torch", "--json")
    assert result.returncode == 0, result.stderr
    verdict = json.loads(result.stdout)
    assert verdict["status"] == "ok" and len(verdict["trials"]) == 6
    assert verdict["candidate_timing"]["trials"] >= 100
    # The walls that were up, and the judge's cross-check of the runner's times, travel with it.
    assert {"process-group", "private-dir", "audit-hooks"} <= set(verdict["isolation"])
    assert verdict["timing_check"]["consistent"] is True and verdict["timing_check"]["spot_checks"] >= 1


def test_rejected_candidate_table_and_exit_code() -> None:
    result = kw(
        "verify", "--task", RELU, str(HACKS / "poison_reference.py"), *QUICK, "--allow-torch", "--no-timing"
    )
    assert result.returncode == EXIT_CODES[Status.rejected]
    assert "rejected" in result.stdout and "monkeypatch" in result.stdout
    assert "Traceback" not in result.stderr


def test_pytorch_candidate_without_allow_torch_is_rejected() -> None:
    result = kw("verify", "-t", RELU, str(HACKS / "honest_relu.py"), *QUICK, "--json")
    assert result.returncode == EXIT_CODES[Status.rejected]
    assert json.loads(result.stdout)["rule"] == "no-custom-kernel"


def test_hanging_candidate_leaves_the_cli_running_with_a_timeout() -> None:
    result = kw("verify", "-t", RELU, str(HACKS / "infinite_loop.py"), *QUICK, "--allow-torch", "--run-timeout", "2",
                "--json")  # fmt: skip
    assert result.returncode == EXIT_CODES[Status.timeout], result.stderr
    assert "2 s run time limit" in json.loads(result.stdout)["message"]


@pytest.mark.skipif(gpu_available(), reason="a GPU is visible: --device cuda is valid here")
def test_device_cuda_without_a_gpu_is_one_sentence() -> None:
    result = kw("verify", "-t", RELU, str(HACKS / "honest_relu.py"), "--device", "cuda")
    assert result.returncode == 3
    assert result.stderr.strip().startswith("error: --device cuda needs an NVIDIA GPU")
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-t", RELU, "/nonexistent/cand.py", "--device", "cpu"], "no such file"),
        (["-t", "no_such_task_xyz", str(HACKS / "honest_relu.py"), "--device", "cpu"], "unknown task"),
        (["-t", RELU, str(HACKS / "honest_relu.py"), "--device", "tpu"], "--device must be cuda or cpu"),
    ],
)
def test_user_errors_are_one_sentence(args: list[str], message: str) -> None:
    result = kw("verify", *args)
    assert result.returncode == 2
    assert message in result.stderr and "Traceback" not in result.stderr


def test_a_kernel_candidate_on_the_cpu_headlines_the_hint() -> None:
    from kernelwright.commands.verify import CPU_HINT, with_cpu_headline
    from kernelwright.contracts import Verdict

    failed = Verdict(status="runtime_error", message="IndexError: list index out of range", device="cpu",
                     kernel_names=["relu_kernel"], log="Traceback ...")  # fmt: skip
    shown = with_cpu_headline(failed, "cpu")
    assert shown.message == CPU_HINT and "--device cuda" in shown.message
    assert shown.log.startswith("sandbox message: IndexError: list index out of range\nTraceback")
    assert with_cpu_headline(failed, "cuda") == failed  # on a GPU the error is the candidate's own


def test_a_syntax_error_names_the_users_file(tmp_path: Path) -> None:
    broken = tmp_path / "my_relu_kernel.py"
    broken.write_text("class ModelNew(:\n    pass\n")
    result = kw("verify", "--task", RELU, str(broken), *QUICK, "--json")
    assert result.returncode == EXIT_CODES[Status.rejected], result.stderr
    message = json.loads(result.stdout)["message"]
    assert f"{broken} is not valid Python" in message and "candidate.py" not in message


def test_a_tuned_file_is_judged_per_configuration_and_the_fastest_kept(tmp_path: Path) -> None:
    tuned = tmp_path / "tuned_relu.py"
    tuned.write_text(
        "import torch\n\nTUNE = {'ROWS': (1, 1048576)}\n\n\nclass ModelNew(torch.nn.Module):\n"
        "    def forward(self, x):\n"
        "        return torch.cat([torch.relu(p) for p in x.flatten().split(TUNE['ROWS'])]).view_as(x)\n"
    )
    result = kw("verify", "--task", RELU, str(tuned), *QUICK, "--allow-torch")
    assert result.returncode == 0, result.stdout + result.stderr
    text = " ".join(result.stdout.split())
    assert "│ tuning │ ROWS=1: ok," in text and "│ tuning (kept) │ ROWS=1048576: ok," in text
