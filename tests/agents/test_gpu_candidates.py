"""The kernels scripts/gpu-check.d/50-agents.sh plays back must at least pass the guard and compile
with NVRTC here, so that GPU time is never spent on a typo."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernelwright.contracts import Candidate

HERE = Path(__file__).parent / "gpu_candidates"
FILES = sorted(HERE.glob("*/*.py"))


def test_three_tasks_each_with_seed_and_fast() -> None:
    assert [f"{p.parent.name}/{p.name}" for p in FILES] == [
        f"{t}/{f}" for t in ("12_GELU", "13_SiLU", "19_ReLU") for f in ("fast.py", "seed.py")
    ]


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_candidate_is_guard_clean_and_compiles(path: Path) -> None:
    from kernelwright.kernelbench import find_task
    from kernelwright.sandbox.guard.static_check import static_verdict

    task = find_task(f"level1/{path.parent.name}")
    verdict = static_verdict(task, Candidate(source=path.read_text()), arch="sm_90")
    assert verdict.status.value == "ok", f"{verdict.message}\n{verdict.log}"
    expected = 1 if path.name == "seed.py" else 2
    assert len(verdict.kernel_names) == expected
