"""`kernelwright optimize --compile-only` and `show` as a user runs them: a real process, the real
scripted HTTP server, NVRTC and the static guard, a SQLite store; plus kill -9 and --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kernelwright.agents.history import task_history
from kernelwright.store import open_store
from tests.agents.test_loop import DIAGNOSIS
from tests.support.openai_server import Reply, ScriptedServer
from tests.support.recorded import NATIVE_RELU

CODER, JUDGE = "coder-m", "judge-m"
CLEAN = f"```python\n{NATIVE_RELU}```\n"
NOT_COMPILING = CLEAN.replace("y[i] = x[i] > 0.f", "y[i] = q[i] > 0.f")
GUARD_REJECTED = CLEAN.replace("        return y\n", "        return torch.relu(x)\n")


def cli_env(tmp_path: Path, server: ScriptedServer, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "KERNELWRIGHT_"))}
    env.update(
        OPENAI_BASE_URL=server.base_url,
        OPENAI_API_KEY="sk-cli-test",
        KERNELWRIGHT_CODER_MODEL=CODER,
        KERNELWRIGHT_JUDGE_MODEL=JUDGE,
        KERNELWRIGHT_DB=f"sqlite:///{tmp_path / 'store.db'}",
        KERNELWRIGHT_CACHE_DIR=str(tmp_path / "cache"),
        CUDA_VISIBLE_DEVICES="",
    )
    env.update(extra)
    return env


def kw(
    args: list[str], env: dict[str, str], cwd: Path, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kernelwright.cli", *args], env=env, cwd=cwd, capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


@pytest.mark.slow
def test_compile_only_repairs_from_compiler_error_then_guard_finding(server, tmp_path: Path) -> None:
    server.script(CODER, [NOT_COMPILING, GUARD_REJECTED, CLEAN])
    server.script(JUDGE, [DIAGNOSIS, DIAGNOSIS])
    proc = kw(["optimize", "--task", "level1/19_ReLU", "--compile-only", "--candidates", "1"],
              cli_env(tmp_path, server), tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "compiled" in proc.stdout and "Traceback" not in proc.stderr
    assert "relu_kernel (sm_90a):" in proc.stdout and "registers/thread, 0 B spilled" in proc.stdout

    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        [run] = store.runs()
        attempts = store.attempts(run.id)
        assert run.status == "compiled"
    assert [a.verdict.status.value for a in attempts] == ["compile_error", "rejected", "ok"]
    assert attempts[1].verdict.rule == "torch-op-in-forward"
    coder = [r.last_user for r in server.requests_for(CODER)]
    assert 'identifier "q" is undefined' in coder[1]
    assert "torch-op-in-forward" in coder[2] and "torch.relu()" in coder[2]
    assert (tmp_path / "kernelwright-out" / "level1_19_ReLU" / "best.py").read_text() == attempts[2].code

    shown = kw(["show", str(run.id), "--json"], cli_env(tmp_path, server), tmp_path)
    data = json.loads(shown.stdout)
    assert [a["status"] for a in data["attempts"]] == ["compile_error", "rejected", "ok"]
    assert data["llm"]["calls"] == 5 and data["llm"]["by_role"]["judge"]["calls"] == 2
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        by_task = task_history(store, "level1/19_ReLU")
    assert by_task["runs"] == [run.id] and [a["id"] for a in by_task["attempts"]] == sorted(
        a["id"] for a in by_task["attempts"]
    )
    assert by_task["llm"]["cost_usd"] == 0.0 and by_task["llm"]["tokens"] == data["llm"]["tokens"] > 0


def test_without_gpu_one_sentence_pointing_at_compile_only(server, tmp_path: Path) -> None:
    proc = kw(["optimize", "--task", "relu"], cli_env(tmp_path, server), tmp_path)
    assert proc.returncode == 3
    assert proc.stderr.count("\n") == 1 and "--compile-only" in proc.stderr and "GPU" in proc.stderr
    assert server.requests == []


@pytest.mark.parametrize("drop", ["OPENAI_API_KEY", "OPENAI_BASE_URL"])
def test_without_key_or_base_url_one_sentence(server, tmp_path: Path, drop: str) -> None:
    # a key is demanded only of a remote endpoint: one on localhost needs none
    env = cli_env(tmp_path, server, OPENAI_BASE_URL="https://llm.example.com/v1")
    del env[drop]
    proc = kw(["optimize", "--task", "relu", "--compile-only"], env, tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("error: No LLM endpoint") and proc.stderr.count("\n") == 1
    what = "API key" if drop == "OPENAI_API_KEY" else "base URL"
    assert f"coder {what}" in proc.stderr


def test_show_unknown_run_is_one_sentence(server, tmp_path: Path) -> None:
    env = cli_env(tmp_path, server)
    store = open_store(env["KERNELWRIGHT_DB"])  # reading commands never create a store: make one run
    store.create_run({}, coder_model=CODER, judge_model=JUDGE, gpu_name="none")
    store.close()
    proc = kw(["show", "42"], env, tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip() == "error: There is no run 42 in the store."


@pytest.mark.slow
def test_kill_9_mid_run_then_resume_loses_and_duplicates_nothing(server, tmp_path: Path) -> None:
    # every candidate fails to compile, so the run goes all 5 rounds; the 4th Coder call hangs
    server.script(CODER, [NOT_COMPILING] * 3 + [Reply(text=NOT_COMPILING, hang_s=60)], then=NOT_COMPILING)
    server.script(JUDGE, [], then=DIAGNOSIS)
    env = cli_env(tmp_path, server)
    args = ["optimize", "--task", "relu", "--compile-only", "--candidates", "1", "--rounds", "5"]
    proc = subprocess.Popen([sys.executable, "-m", "kernelwright.cli", *args], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 90
    while len(server.requests_for(CODER)) < 4 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert len(server.requests_for(CODER)) == 4, proc.stderr.read().decode() if proc.stderr else ""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)

    url = f"sqlite:///{tmp_path / 'store.db'}"
    with open_store(url) as store:
        [run] = store.runs()
        before = [(s.id, s.attempt.round, s.attempt.code) for s in store.attempts_for_task("level1/19_ReLU")]
    assert [r for _, r, _ in before] == [0, 1, 2]

    resumed = kw([*args, "--resume", str(run.id)], env, tmp_path)
    assert resumed.returncode == 1, resumed.stderr  # ran to the end; nothing compiled
    assert "compiled no kernel" in resumed.stderr  # compile-only cannot call a kernel correct
    with open_store(url) as store:
        after = [(s.id, s.attempt.round, s.attempt.code) for s in store.attempts_for_task("level1/19_ReLU")]
        slots = [(a.round, a.candidate_index) for a in store.attempts(run.id)]
        assert store.run(run.id).status == "done"
    assert after[:3] == before  # nothing lost or rewritten
    assert slots == [(0, 0), (1, 0), (2, 0), (3, 0), (4, 0)]  # nothing duplicated, round 3 redone once
    assert len(server.requests_for(CODER)) == 4 + 2


def test_ctrl_c_marks_the_run_interrupted_and_keeps_its_attempts(server, tmp_path: Path) -> None:
    server.script(CODER, [NOT_COMPILING, Reply(text=NOT_COMPILING, hang_s=60)])
    server.script(JUDGE, [], then=DIAGNOSIS)
    args = ["optimize", "--task", "relu", "--compile-only", "--candidates", "1", "--rounds", "5"]
    proc = subprocess.Popen([sys.executable, "-m", "kernelwright.cli", *args], env=cli_env(tmp_path, server),
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    deadline = time.monotonic() + 90
    while len(server.requests_for(CODER)) < 2 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=30)
    assert proc.returncode == 130 and "Traceback" not in stderr
    with open_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
        [run] = store.runs()
        assert run.status == "interrupted"
        assert [a.verdict.status.value for a in store.attempts(run.id)] == ["compile_error"]


def test_unknown_option_is_a_usage_error_not_a_traceback(server, tmp_path: Path) -> None:
    proc = kw(["optimize", "--task", "relu", "--roundz", "3"], cli_env(tmp_path, server), tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "No such option: --roundz" in proc.stderr
