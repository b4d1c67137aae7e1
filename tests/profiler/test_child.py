"""Profiled children run candidate code: own process group killed on timeout, no secrets, one GPU."""

from __future__ import annotations

import sys
import time

import pytest

from kernelwright.profiler.child import child_env, run_in_group


def test_timeout_kills_the_whole_group(tmp_path) -> None:
    # The grandchild would outlive a plain kill of the direct child and keep the pipe open.
    script = "import subprocess, time; subprocess.Popen(['sleep', '30']); time.sleep(30)"
    start = time.perf_counter()
    result = run_in_group([sys.executable, "-c", script], cwd=str(tmp_path), env=None, timeout_s=1.0)
    assert result.returncode is None
    assert time.perf_counter() - start < 10


def test_output_is_decoded_with_replacement(tmp_path) -> None:
    script = "import sys; sys.stdout.buffer.write(b'ok \\xff'); sys.stderr.write('err')"
    result = run_in_group([sys.executable, "-c", script], cwd=str(tmp_path), env=None, timeout_s=30)
    assert result.returncode == 0 and result.stdout == "ok \ufffd" and result.stderr == "err"


def test_child_environment_has_no_secrets_and_one_gpu(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("KERNELWRIGHT_DB", "postgresql://u:p@h/db")
    monkeypatch.setenv("KERNELWRIGHT_CODER_API_KEY", "sk-coder")
    env = child_env(3)
    assert (
        "OPENAI_API_KEY" not in env
        and "KERNELWRIGHT_DB" not in env
        and "KERNELWRIGHT_CODER_API_KEY" not in env
    )
    assert env["CUDA_VISIBLE_DEVICES"] == "3" and env["CUDA_DEVICE_ORDER"] == "PCI_BUS_ID"
    assert env.get("PATH")
    # A CUDA_VISIBLE_DEVICES the user set is honoured: index 1 of "4,6" is device 6.
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "4,6")
    assert child_env(1)["CUDA_VISIBLE_DEVICES"] == "6"
