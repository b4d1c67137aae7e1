"""`kernelwright batch` end to end on this CPU machine: --compile-only with the real NVRTC compiler and
the real openai client against the scripted server; and the user errors, one sentence each."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.batch.keyed_server import CODER, JUDGE, KeyedServer

TASKS = ["--level", "1", "--tasks", "level1/[6-9]_*"]


def _kw(args: list[str], server: KeyedServer | None, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "KERNELWRIGHT_"))}
    env["COLUMNS"] = "200"
    if server is not None:
        env |= {"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-test",
                "KERNELWRIGHT_CODER_MODEL": CODER, "KERNELWRIGHT_JUDGE_MODEL": JUDGE}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-m", "kernelwright", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_compile_only_batch_compiles_with_nvrtc_and_skips_done_tasks(
    llm_server: KeyedServer, tmp_path: Path
) -> None:
    from kernelwright.store import open_store

    url = f"sqlite:///{tmp_path / 'co.db'}"
    out = _kw(
        ["batch", "bundled", *TASKS, "--compile-only", "--rounds", "2", "--db", url], llm_server, tmp_path
    )
    assert out.returncode == 0, out.stderr
    assert "4 tasks, 4 run now, 0 already done, 0 failed" in out.stdout
    for model in (CODER, JUDGE):  # the note optimize prints, batch prints too
        assert f"note: no price known for model {model}; its calls count as $0" in out.stdout
    store = open_store(url)
    try:
        runs = [r for r in store.runs() if r.config.get("kind") == "batch-task"]
        assert sorted(r.config["task_key"] for r in runs) == [f"level1/{n}" for n in
                                                              ("6_Softmax", "7_LayerNorm", "8_RMSNorm", "9_Sum_Reduction")]  # fmt: skip
        assert {r.status for r in runs} == {"compiled"}
        attempts = [a for r in runs for a in store.attempts(r.id)]
        ok = [a for a in attempts if a.verdict.status == "ok"]
        assert len(ok) >= 4 and {a.gpu_name for a in attempts} == {"none"}
        # NVRTC really compiled them: kernel names and ptxas resources come from the compiler
        assert all(a.verdict.kernel_names == ["kernel"] and a.verdict.resources for a in ok)
        before = len(attempts)
    finally:
        store.close()

    again = _kw(
        ["batch", "bundled", *TASKS, "--compile-only", "--rounds", "2", "--db", url], llm_server, tmp_path
    )
    assert again.returncode == 0, again.stderr
    assert "4 tasks, 0 run now, 4 already done" in again.stdout
    store = open_store(url)
    try:
        runs = [r for r in store.runs() if r.config.get("kind") == "batch-task"]
        assert sum(len(store.attempts(r.id)) for r in runs) == before
    finally:
        store.close()


@pytest.mark.parametrize(
    ("args", "needs_llm", "code", "sentence"),
    [
        (["--compile-only", "--ray", "auto"], True, 2, "cannot be combined with --ray"),
        ([], True, 3, "`kernelwright batch` needs an NVIDIA GPU and none is usable here"),
        (["--compile-only", "--resume", "999"], True, 2, "Run 999 is not a batch run"),
        (["--ray", "127.0.0.1:1"], True, 2, "Cannot reach the Ray cluster at 127.0.0.1:1"),
        (["--compile-only"], False, 2, "No LLM endpoint is fully configured"),
    ],
)
def test_user_errors_are_one_sentence(
    args: list[str], needs_llm: bool, code: int, sentence: str, llm_server: KeyedServer, tmp_path: Path
) -> None:
    out = _kw(["batch", "bundled", *TASKS, *args, "--db", f"sqlite:///{tmp_path / 'e.db'}"],
              llm_server if needs_llm else None, tmp_path)  # fmt: skip
    assert out.returncode == code, out.stdout + out.stderr
    assert "Traceback" not in out.stderr
    assert sentence in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1
