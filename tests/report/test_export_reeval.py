"""`kernelwright export` writes a standalone module whose CUDA compiles with the real NVRTC and whose
test collects (and skips without a GPU); `reeval` stores 'reeval' attempts so one store compares GPUs."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernelwright.contracts import Candidate, Task, Verdict
from kernelwright.errors import TaskError
from kernelwright.report.build import leaderboard_from_engine
from kernelwright.report.export import pick_best
from kernelwright.report.reeval import reeval_best

from .conftest import A100, H100, FixtureStore, verdict

L4 = "NVIDIA L4"


def _kw(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kernelwright", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=120)  # fmt: skip


@pytest.mark.slow
def test_export_writes_a_standalone_module(fixture_store: FixtureStore, tmp_path: Path) -> None:
    from kernelwright.sandbox.build.compile import compile_cuda

    out = tmp_path / "export"
    done = _kw("export", "--task", "1_A", "-o", str(out), "--db", fixture_store.url, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == ["README.md", "kernel.cu", "launcher.py", "model_new.py", "reference.py", "test_1_a.py"]
    # the fastest of level1/1_A anywhere: round 2 on the H100 (2.5x), not the A100's 1.8x
    assert (out / "model_new.py").read_text().endswith("# level1/1_A round 2\n")
    assert (
        "**2.500x** over PyTorch eager" in (out / "README.md").read_text()
        and H100 in (out / "README.md").read_text()
    )
    result = compile_cuda((out / "kernel.cu").read_text(), "sm_90")
    assert result.ok, result.log
    assert result.kernel_names == ["relu_kernel"]
    for py in ("launcher.py", "model_new.py", "reference.py", "test_1_a.py"):
        ast.parse((out / py).read_text())

    # the exported test runs with plain pytest in its own folder: it collects, and skips without a GPU
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(out),
                          "-c", os.devnull, str(out)], capture_output=True, text=True, cwd=out, env=env, timeout=120)  # fmt: skip
    assert "3 skipped" in ran.stdout, ran.stdout + ran.stderr
    launched = subprocess.run(
        [sys.executable, "launcher.py"], capture_output=True, text=True, cwd=out, timeout=120
    )
    assert launched.returncode != 0 and "needs an NVIDIA GPU" in launched.stderr


@pytest.mark.slow
def test_export_picks_the_named_gpu_and_refuses_unknown_tasks(
    fixture_store: FixtureStore, tmp_path: Path
) -> None:
    out = tmp_path / "a100"
    done = _kw(
        "export",
        "--task",
        "level1/1_A",
        "--gpu",
        A100,
        "-o",
        str(out),
        "--db",
        fixture_store.url,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (out / "model_new.py").read_text().endswith("# level1/1_A round 0\n")

    bad = _kw(
        "export", "--task", "nope", "-o", str(tmp_path / "nope"), "--db", fixture_store.url, cwd=tmp_path
    )
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "no correct, measured kernel for task 'nope'" in bad.stderr
    assert not (tmp_path / "nope").exists()
    with pytest.raises(TaskError, match="no correct, measured kernel for task '3_C'"):  # never correct
        pick_best(fixture_store.store, "3_C")


class RecordedL4:
    """The GPU double: a Verdict in the sandbox's shape, as an NVIDIA L4 would report it (hand-written
    from the Verdict contract, not measured)."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []

    def __call__(self, task: Task, candidate: Candidate) -> Verdict:
        self.seen.append((task.key, candidate.origin))
        return verdict("ok", 1.1, eager_ms=2.0, compiled=0.8, gpu=L4)


def test_reeval_stores_reeval_attempts_that_the_leaderboard_compares(fixture_store: FixtureStore) -> None:
    store = fixture_store.store
    evaluator = RecordedL4()
    results = reeval_best(store, evaluate=evaluator)
    # one per distinct best kernel: 1_A on H100 and on A100, 2_B (m2's) and 4_D on H100
    assert sorted(k for k, _ in results) == ["level1/1_A", "level1/1_A", "level1/2_B", "level2/4_D"]
    assert {origin for _, origin in evaluator.seen} == {"reeval"}
    reevals = [s for key in ("level1/1_A", "level1/2_B", "level2/4_D") for s in store.attempts_for_task(key)
               if s.attempt.mode == "reeval"]  # fmt: skip
    assert len(reevals) == 4 and {s.attempt.gpu_name for s in reevals} == {L4}
    best_ids = {e.attempt_id for e in store.best_all() if e.gpu_name != L4}
    assert {s.attempt.parent_attempt_id for s in reevals} == best_ids

    board = leaderboard_from_engine(store.engine)
    l4 = {(r.task_key, r.model): r.best_speedup_vs_eager for r in board.tasks if r.gpu_name == L4}
    assert l4 == {("level1/1_A", "m1"): 1.1, ("level1/2_B", "m2"): 1.1, ("level2/4_D", "m1"): 1.1}


def test_reeval_without_a_gpu_is_one_sentence(fixture_store: FixtureStore, tmp_path: Path) -> None:
    from kernelwright.gpu.availability import gpu_available

    if gpu_available():
        pytest.skip("a GPU is visible: reeval would run (scripts/gpu-check covers that path)")
    done = _kw("reeval", "--db", fixture_store.url, cwd=tmp_path)
    assert done.returncode == 3 and "Traceback" not in done.stderr
    assert "`kernelwright reeval` needs an NVIDIA GPU and none is usable here" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
