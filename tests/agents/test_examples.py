"""The Coder's "Kernels that won on similar tasks" section, read from a real store: same operator
class, never the task itself, never a suspicious kernel, the target GPU's first, and within its
token budget by leaving whole examples out (the second before the first), never by cutting code."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernelwright.agents.examples import reference_kernels, render_examples
from kernelwright.agents.token_estimate import estimate_tokens
from kernelwright.contracts import Attempt, Status, Task
from kernelwright.kernelbench import find_task
from kernelwright.store import SqlStore
from tests.store.sample_records import make_attempt, make_verdict

H100 = "NVIDIA H100 80GB HBM3"
A100 = "NVIDIA A100-SXM4-80GB"
CANDIDATES = Path(__file__).parent / "gpu_candidates"
# Real candidate files (the ones scripts/gpu-check drives), as a stored winning kernel would be.
GELU_CODE = (CANDIDATES / "12_GELU" / "fast.py").read_text()
SILU_CODE = (CANDIDATES / "13_SiLU" / "fast.py").read_text()
RELU_CODE = (CANDIDATES / "19_ReLU" / "fast.py").read_text()
BUDGET = 100_000


def stored(
    run_id: int,
    task_key: str,
    code: str,
    *,
    speedup: float,
    gpu_name: str = H100,
    status: Status = Status.ok,
    round_: int = 0,
) -> Attempt:
    attempt = make_attempt(run_id, task_key=task_key, gpu_name=gpu_name, round_=round_)
    verdict = make_verdict(status, median_ms=4.0 / speedup, eager_ms=4.0)
    return attempt.model_copy(update={"verdict": verdict, "code": code})


@pytest.fixture
def relu(store: SqlStore) -> Task:
    for key in ("level1/12_GELU", "level1/13_SiLU", "level1/19_ReLU", "level1/6_Softmax"):
        store.add_task(find_task(key))
    return find_task("level1/19_ReLU")


@pytest.fixture
def run_id(store: SqlStore) -> int:
    return store.create_run({}, coder_model="c", judge_model="j", gpu_name=H100)


def test_nothing_stored_or_no_budget_gives_no_section(store: SqlStore, relu: Task, run_id: int) -> None:
    assert reference_kernels(store, relu, H100, BUDGET) == ""
    store.add_attempt(stored(run_id, "level1/6_Softmax", "# softmax kernel\n", speedup=3.0))  # another class
    assert reference_kernels(store, relu, H100, BUDGET) == ""
    store.add_attempt(stored(run_id, "level1/12_GELU", GELU_CODE, speedup=2.0))
    assert reference_kernels(store, relu, H100, 0) == ""
    assert reference_kernels(store, relu, H100, BUDGET) != ""


def test_the_section_names_task_speedup_gpu_and_holds_the_code_whole(
    store: SqlStore, relu: Task, run_id: int
) -> None:
    store.add_attempts(
        [
            stored(run_id, "level1/19_ReLU", RELU_CODE, speedup=9.0),  # the task itself
            stored(run_id, "level1/12_GELU", GELU_CODE, speedup=2.5),
            stored(run_id, "level1/13_SiLU", SILU_CODE, speedup=1.25),
            stored(run_id, "level1/6_Softmax", "# softmax kernel\n", speedup=8.0),
        ]
    )
    text = reference_kernels(store, relu, H100, BUDGET)
    assert text.startswith("## Kernels that won on similar tasks\n")
    assert "other activation tasks" in text
    assert f"### level1/12_GELU: 2.50x faster than eager on {H100}\n" in text
    assert f"### level1/13_SiLU: 1.25x faster than eager on {H100}\n" in text
    assert text.index("level1/12_GELU") < text.index("level1/13_SiLU")
    assert f"```python\n{GELU_CODE.rstrip()}\n```" in text and f"```python\n{SILU_CODE.rstrip()}\n```" in text
    assert "19_ReLU" not in text and RELU_CODE not in text and "softmax" not in text
    assert estimate_tokens(text) <= BUDGET


def test_suspicious_kernels_never_appear(store: SqlStore, relu: Task, run_id: int) -> None:
    store.add_attempts(
        [
            stored(
                run_id, "level1/12_GELU", "# too good to be true\n", speedup=40.0, status=Status.suspicious
            ),
            stored(run_id, "level1/13_SiLU", SILU_CODE, speedup=1.5),
        ]
    )
    text = reference_kernels(store, relu, H100, BUDGET)
    assert "too good to be true" not in text and "12_GELU" not in text
    assert "### level1/13_SiLU: 1.50x" in text


def test_the_target_gpu_comes_first_and_another_gpu_is_named(
    store: SqlStore, relu: Task, run_id: int
) -> None:
    store.add_attempts(
        [
            stored(run_id, "level1/12_GELU", GELU_CODE, speedup=6.0, gpu_name=A100),
            stored(run_id, "level1/13_SiLU", SILU_CODE, speedup=1.5, gpu_name=H100),
        ]
    )
    text = reference_kernels(store, relu, H100, BUDGET)
    assert text.index("level1/13_SiLU") < text.index("level1/12_GELU")
    assert f"### level1/12_GELU: 6.00x faster than eager on {A100} (not the target GPU" in text
    assert f"### level1/13_SiLU: 1.50x faster than eager on {H100}\n" in text
    # No target GPU named: ranked by speedup alone, each under its own GPU.
    anywhere = reference_kernels(store, relu, None, BUDGET)
    assert (
        anywhere.index("level1/12_GELU") < anywhere.index("level1/13_SiLU")
        and "not the target" not in anywhere
    )


def test_the_budget_drops_the_second_example_first_and_never_cuts_code(
    store: SqlStore, relu: Task, run_id: int
) -> None:
    long_gelu = GELU_CODE + "".join(f"# tuning note {i}: block size 256 beat 128\n" for i in range(60))
    store.add_attempts(
        [
            stored(run_id, "level1/12_GELU", long_gelu, speedup=3.0),
            stored(run_id, "level1/13_SiLU", SILU_CODE, speedup=2.0),
        ]
    )
    [gelu, silu] = [s.attempt for s in store.best_of_class("activation", exclude_task=relu.key)]
    both = estimate_tokens(render_examples("activation", [gelu, silu], H100))
    first = estimate_tokens(render_examples("activation", [gelu], H100))
    second = estimate_tokens(render_examples("activation", [silu], H100))
    assert second < first < both

    assert "13_SiLU" in reference_kernels(store, relu, H100, both)
    only_first = reference_kernels(store, relu, H100, both - 1)
    assert "12_GELU" in only_first and "13_SiLU" not in only_first and long_gelu.rstrip() in only_first
    assert estimate_tokens(only_first) <= both - 1
    only_second = reference_kernels(store, relu, H100, first - 1)
    assert "13_SiLU" in only_second and "12_GELU" not in only_second and SILU_CODE.rstrip() in only_second
    assert reference_kernels(store, relu, H100, second - 1) == ""


def test_code_holding_a_fence_cannot_close_the_section_early(
    store: SqlStore, relu: Task, run_id: int
) -> None:
    code = SILU_CODE + '\nDOC = """usage:\n```python\nModelNew()\n```\n"""\n'
    store.add_attempt(stored(run_id, "level1/13_SiLU", code, speedup=2.0))
    text = reference_kernels(store, relu, H100, BUDGET)
    assert f"````python\n{code.rstrip()}\n````" in text


def test_cpu_winners_and_gpu_winners_are_never_each_others_examples(
    store: SqlStore, relu: Task, run_id: int
) -> None:
    cpu_code = "import torch\n\n\nclass ModelNew(torch.nn.Module):\n    def forward(self, x):\n        return x.relu()\n"
    store.add_attempts(
        [
            stored(run_id, "level1/12_GELU", GELU_CODE, speedup=2.0),
            stored(run_id, "level1/13_SiLU", cpu_code, speedup=5.0, gpu_name="cpu"),
        ]
    )
    on_gpu = reference_kernels(store, relu, A100, BUDGET)
    assert "level1/12_GELU" in on_gpu and "level1/13_SiLU" not in on_gpu
    on_cpu = reference_kernels(store, relu, "cpu", BUDGET)
    assert "level1/13_SiLU" in on_cpu and "level1/12_GELU" not in on_cpu
    assert "level1/13_SiLU" not in reference_kernels(store, relu, None, BUDGET)  # compile-only
