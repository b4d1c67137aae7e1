"""GPU-only paths of export and reeval, run by scripts/gpu-check: the fixture store's best kernels are
real native ReLU candidates for a real ReLU reference, so the real Sandbox re-verifies them and the
exported correctness test passes on the device."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernelwright.report.build import leaderboard_from_engine
from kernelwright.report.export import export_best
from kernelwright.report.reeval import reeval_best

from .conftest import FixtureStore

pytestmark = pytest.mark.gpu


def test_reeval_on_this_gpu_verifies_the_stored_best_kernels(fixture_store: FixtureStore) -> None:
    results = reeval_best(fixture_store.store, task_filter="level1/1_A")
    assert len(results) == 2  # the H100 and the A100 best of level1/1_A
    for _, verdict in results:
        assert verdict.status == "ok", verdict.message
        assert verdict.gpu_name and verdict.speedup_vs_eager is not None
    gpu = results[0][1].gpu_name
    board = leaderboard_from_engine(fixture_store.store.engine)
    assert any(r.gpu_name == gpu and r.task_key == "level1/1_A" and r.correct for r in board.tasks)


def test_exported_module_passes_its_own_test_on_the_gpu(fixture_store: FixtureStore, tmp_path: Path) -> None:
    out = tmp_path / "export"
    export_best(fixture_store.store, "level1/1_A", out)
    ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(out),
                          "-c", os.devnull, str(out)], capture_output=True, text=True, cwd=out, timeout=300)  # fmt: skip
    assert "3 passed" in ran.stdout, ran.stdout + ran.stderr
    launched = subprocess.run(
        [sys.executable, "launcher.py"], capture_output=True, text=True, cwd=out, timeout=300
    )
    assert launched.returncode == 0 and "speedup" in launched.stdout, launched.stderr
