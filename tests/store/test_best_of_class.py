"""best_of_class: the kernels that won most clearly on other tasks of one operator class, on SQLite
and PostgreSQL. One per task (its best), ranked by speedup vs eager, never 'suspicious', never a
loss to eager, never the asking task; the asking GPU's first, other GPUs' filling the rest."""

from __future__ import annotations

from kernelwright.contracts import Attempt, Status
from kernelwright.kernelbench import find_task
from kernelwright.store import SqlStore

from .sample_records import RELU_SOURCE, make_attempt, make_task, make_verdict

H100 = "NVIDIA H100 80GB HBM3"
A100 = "NVIDIA A100-SXM4-80GB"
SOFTMAX = "level1/6_Softmax"
SCALED_SOFTMAX = "level2/4_Scaled_Softmax"
BMM_SOFTMAX = "level2/10_BMM_Scaled_Softmax"  # a matmul task: its softmax must not make it one
RELU = "level1/19_ReLU"


def won(
    run_id: int,
    task_key: str,
    *,
    speedup: float,
    gpu_name: str = H100,
    status: Status = Status.ok,
    round_: int = 0,
    eager_ms: float = 4.0,
) -> Attempt:
    """An attempt `speedup` times faster than an eager time of `eager_ms`."""
    attempt = make_attempt(run_id, task_key=task_key, gpu_name=gpu_name, round_=round_, status=status)
    verdict = make_verdict(status, median_ms=eager_ms / speedup, eager_ms=eager_ms)
    code = f"# {task_key} r{round_} on {gpu_name}: {speedup}x\n"
    return attempt.model_copy(update={"verdict": verdict, "code": code})


def suite_store(store: SqlStore) -> int:
    for key in (SOFTMAX, SCALED_SOFTMAX, BMM_SOFTMAX, RELU):
        store.add_task(find_task(key))
    return store.create_run({}, coder_model="c", judge_model="j", gpu_name=H100)


def keys(found: list) -> list[tuple[str, str]]:
    return [(s.attempt.task_key, s.attempt.gpu_name) for s in found]


def test_one_best_per_task_of_the_class_ranked_by_speedup(store: SqlStore) -> None:
    run_id = suite_store(store)
    ids = store.add_attempts(
        [
            won(run_id, SOFTMAX, speedup=1.5),
            won(run_id, SOFTMAX, speedup=2.5, round_=1),  # the task's best
            won(run_id, SCALED_SOFTMAX, speedup=1.8, eager_ms=9.0),
            won(run_id, BMM_SOFTMAX, speedup=7.0),
            won(run_id, RELU, speedup=9.0),
        ]
    )
    found = store.best_of_class("softmax", gpu_name=H100)
    assert keys(found) == [(SOFTMAX, H100), (SCALED_SOFTMAX, H100)]
    assert [s.id for s in found] == [ids[1], ids[2]]
    assert found[0].attempt.verdict.speedup_vs_eager == 2.5 and found[0].attempt.code.endswith("2.5x\n")
    assert keys(store.best_of_class("softmax", limit=1)) == [(SOFTMAX, H100)]
    assert store.best_of_class("softmax", limit=0) == []
    assert keys(store.best_of_class("matmul")) == [(BMM_SOFTMAX, H100)]
    assert store.best_of_class("conv") == []


def test_the_asking_task_is_never_its_own_example(store: SqlStore) -> None:
    run_id = suite_store(store)
    store.add_attempts([won(run_id, SOFTMAX, speedup=5.0), won(run_id, SCALED_SOFTMAX, speedup=1.2)])
    assert keys(store.best_of_class("softmax", exclude_task=SOFTMAX)) == [(SCALED_SOFTMAX, H100)]
    assert store.best_of_class("softmax", exclude_task=SOFTMAX, limit=2)[0].attempt.task_key != SOFTMAX


def test_suspicious_unmeasured_and_slower_than_eager_never_count(store: SqlStore) -> None:
    run_id = suite_store(store)
    store.add_attempts(
        [
            won(run_id, SOFTMAX, speedup=50.0, status=Status.suspicious),
            won(run_id, SCALED_SOFTMAX, speedup=0.8),  # correct, but lost to eager
            make_attempt(run_id, task_key=SOFTMAX, median_ms=None, gpu_name="none"),  # compile-only
        ]
    )
    assert store.best_of_class("softmax") == []
    store.add_attempt(won(run_id, SCALED_SOFTMAX, speedup=1.01, round_=1))
    assert keys(store.best_of_class("softmax")) == [(SCALED_SOFTMAX, H100)]
    assert store.best_of_class("softmax", min_speedup=1.5) == []
    assert all(s.attempt.verdict.status == Status.ok for s in store.best_of_class("softmax"))


def test_the_asking_gpu_comes_first_and_other_gpus_fill_in(store: SqlStore) -> None:
    run_id = suite_store(store)
    store.add_attempts(
        [
            won(run_id, SOFTMAX, speedup=1.5, gpu_name=H100),
            won(run_id, SOFTMAX, speedup=6.0, gpu_name=A100),
            won(run_id, SCALED_SOFTMAX, speedup=3.0, gpu_name=A100),
        ]
    )
    # On the H100 the H100 measurement of a task is preferred even when its A100 one is faster.
    assert keys(store.best_of_class("softmax", gpu_name=H100)) == [(SOFTMAX, H100), (SCALED_SOFTMAX, A100)]
    assert keys(store.best_of_class("softmax", gpu_name=A100)) == [(SOFTMAX, A100), (SCALED_SOFTMAX, A100)]
    # Nothing measured on this GPU at all: the others' kernels, each under its own GPU's name.
    assert keys(store.best_of_class("softmax", gpu_name="NVIDIA L4")) == [
        (SOFTMAX, A100),
        (SCALED_SOFTMAX, A100),
    ]
    assert keys(store.best_of_class("softmax")) == [(SOFTMAX, A100), (SCALED_SOFTMAX, A100)]


def test_tasks_known_only_by_key_are_classified_by_name(store: SqlStore) -> None:
    run_id = store.create_run({}, coder_model="c", judge_model="j", gpu_name=H100)
    store.add_attempt(won(run_id, "level1/23_Softmax", speedup=2.0))  # no add_task: no source stored
    assert store.task("level1/23_Softmax") is None
    assert keys(store.best_of_class("softmax")) == [("level1/23_Softmax", H100)]


def test_a_changed_source_is_classified_again(store: SqlStore) -> None:
    run_id = store.create_run({}, coder_model="c", judge_model="j", gpu_name=H100)
    mystery = "level1/99_Mystery"
    softmax_source = RELU_SOURCE.replace("torch.relu(x)", "torch.softmax(x, dim=-1)")
    store.add_task(make_task("99_Mystery", source=softmax_source))
    store.add_attempt(won(run_id, mystery, speedup=2.0))
    assert keys(store.best_of_class("softmax")) == [(mystery, H100)]
    store.add_task(make_task("99_Mystery", source=RELU_SOURCE))
    store.add_attempt(won(run_id, mystery, speedup=3.0, round_=1))
    assert store.best_of_class("softmax") == []
    assert keys(store.best_of_class("activation")) == [(mystery, H100)]
