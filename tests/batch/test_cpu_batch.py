"""`kernelwright batch --device cpu --allow-torch` and `optimize` the same way, end to end: real
processes, the real CPU sandbox, the real openai client against a server whose Coder answers with
the reference itself renamed ModelNew (correct on any task), and SQLite."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.batch.keyed_server import CODER, JUDGE, JUDGE_REPLY
from tests.batch.test_batch_cli import _kw
from tests.support.openai_server import Reply, ScriptedServer

TASKS = ["--level", "1", "--tasks", "level1/1[29]_*"]


class ReferenceServer(ScriptedServer):
    """The Coder returns the reference of the task in its prompt as ModelNew."""

    def next_reply(self, model: str) -> Reply:
        with self._lock:
            captured = self.requests[-1]
        if model == JUDGE:
            return Reply(text=JUDGE_REPLY)
        return Reply(text=reference_as_candidate(captured.messages))


def reference_as_candidate(messages: list[dict[str, Any]]) -> str:
    prompt = messages[-1]["content"]
    source = re.search(r"## Reference[^\n]*\n\n```python\n(.*?)\n```", prompt, re.S)
    assert source is not None, prompt[:400]
    return "```python\n" + source.group(1).replace("class Model(", "class ModelNew(") + "\n```"


@pytest.fixture
def reference_server():
    server = ReferenceServer().start()
    yield server
    server.stop()


@pytest.mark.slow
def test_cpu_batch_runs_the_whole_loop_on_cpu_sized_tasks(reference_server, tmp_path: Path) -> None:
    from kernelwright.store import open_store

    url = f"sqlite:///{tmp_path / 'cpu.db'}"
    args = ["batch", "bundled", *TASKS, "--device", "cpu", "--allow-torch", "--rounds", "1",
            "--candidates", "1", "--llm-concurrency", "1", "--db", url]  # fmt: skip
    out = _kw(args, reference_server, tmp_path)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 tasks, 2 run now" in out.stdout
    with open_store(url) as store:
        runs = [r for r in store.runs() if r.config.get("kind") == "batch-task"]
        assert sorted(r.config["task_key"] for r in runs) == ["level1/12_GELU@cpu", "level1/19_ReLU@cpu"]
        attempts = [a for r in runs for a in store.attempts(r.id)]
        # the real CPU protocol verified and timed each one: the reference is correct and ~1x eager
        assert {(a.gpu_name, a.verdict.status.value) for a in attempts} == {("cpu", "ok")}
        assert all(a.verdict.candidate_timing and a.verdict.speedup_vs_eager for a in attempts)
        task = store.task("level1/19_ReLU@cpu")
        assert task is not None and "batch_size 4096 -> 512" in task.source
    seed = reference_server.requests_for(CODER)[0].last_user
    assert "device='cpu'" in seed and "this run allows PyTorch ops" in seed


def test_cpu_device_with_compile_only_is_one_sentence(reference_server, tmp_path: Path) -> None:
    out = _kw(["optimize", "--task", "19_ReLU", "--device", "cpu", "--compile-only",
               "--db", f"sqlite:///{tmp_path / 'e.db'}"], reference_server, tmp_path)  # fmt: skip
    assert out.returncode == 2, out.stdout + out.stderr
    assert "--device cpu runs candidates on this machine" in out.stderr
    assert "Traceback" not in out.stderr and len(out.stderr.strip().splitlines()) == 1


@pytest.mark.slow
def test_optimize_on_the_cpu_writes_the_best_kernel(reference_server, tmp_path: Path) -> None:
    out = _kw(["optimize", "--task", "19_ReLU", "--device", "cpu", "--allow-torch", "--rounds", "1",
               "--candidates", "1", "--db", f"sqlite:///{tmp_path / 'o.db'}"], reference_server, tmp_path)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr
    assert "run 1: done." in out.stdout and "level1_19_ReLU@cpu/best.py" in out.stdout
    best = (tmp_path / "kernelwright-out" / "level1_19_ReLU@cpu" / "best.py").read_text()
    assert "class ModelNew(" in best
