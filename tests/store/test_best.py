"""The fastest correct attempt per (task, GPU): only 'ok' with a measured time counts, a strictly
faster one replaces the holder, and the maintained table always equals what the attempts imply."""

from __future__ import annotations

import random

from kernelwright.contracts import Status
from kernelwright.store import SqlStore

from .sample_records import make_attempt, make_task

H100 = "NVIDIA H100 80GB HBM3"
A100 = "NVIDIA A100-SXM4-80GB"
RELU = "level1/19_ReLU"


def test_faster_replaces_slower_and_equal_or_slower_does_not(store: SqlStore) -> None:
    run_id = store.create_run({}, coder_model="c", judge_model="j", gpu_name=H100)
    assert store.best(RELU, H100) is None
    first = store.add_attempt(make_attempt(run_id, median_ms=2.0))
    assert store.best(RELU, H100).verdict.candidate_timing.median_ms == 2.0
    store.add_attempt(make_attempt(run_id, median_ms=2.0, round_=1))  # a tie keeps the holder
    assert [b.attempt_id for b in store.best_all()] == [first]
    store.add_attempt(make_attempt(run_id, median_ms=3.0, round_=2))
    faster = store.add_attempt(make_attempt(run_id, median_ms=0.5, round_=3))
    store.add_attempt(make_attempt(run_id, median_ms=0.7, round_=4))
    [entry] = store.best_all()
    assert (entry.attempt_id, entry.candidate_median_ms, entry.run_id) == (faster, 0.5, run_id)
    assert entry.speedup_vs_eager == 4.0 and entry.task_key == RELU and entry.gpu_name == H100
    assert store.best(RELU, H100).round == 3


def test_suspicious_and_unmeasured_verdicts_never_become_best(store: SqlStore) -> None:
    run_id = store.create_run({}, coder_model="c", judge_model="j", gpu_name=H100)
    store.add_attempt(make_attempt(run_id, status=Status.suspicious, median_ms=0.001))
    store.add_attempt(make_attempt(run_id, status=Status.ok, median_ms=None, gpu_name="none"))  # compile-only
    for status in (Status.incorrect, Status.rejected, Status.timeout, Status.crashed, Status.runtime_error):
        store.add_attempt(make_attempt(run_id, status=status, median_ms=0.01))
    assert store.best(RELU, H100) is None and store.best(RELU, "none") is None
    assert store.best_all() == []

    ok = store.add_attempt(make_attempt(run_id, median_ms=5.0, round_=1))
    store.add_attempt(make_attempt(run_id, status=Status.suspicious, median_ms=0.002, round_=2))
    assert [b.attempt_id for b in store.best_all()] == [ok]


def test_best_is_per_gpu_and_per_task(store: SqlStore) -> None:
    run_id = store.create_run({}, coder_model="c", judge_model="j", gpu_name=H100)
    on_h100 = store.add_attempt(make_attempt(run_id, median_ms=1.0))
    on_a100 = store.add_attempt(make_attempt(run_id, median_ms=3.0, gpu_name=A100))
    gemm = store.add_attempt(make_attempt(run_id, task_key="level2/1_GemmBiasRelu", median_ms=9.0))
    assert {(b.task_key, b.gpu_name): b.attempt_id for b in store.best_all()} == {
        (RELU, H100): on_h100,
        (RELU, A100): on_a100,
        ("level2/1_GemmBiasRelu", H100): gemm,
    }
    assert [b.attempt_id for b in store.best_all(gpu_name=A100)] == [on_a100]
    assert [b.level for b in store.best_all()] == [1, 1, 2]


def test_a_changed_task_source_drops_best_but_keeps_attempts(store: SqlStore) -> None:
    run_id = store.create_run({}, coder_model="c", judge_model="j", gpu_name=H100)
    store.add_task(make_task())
    store.add_attempt(make_attempt(run_id, median_ms=1.0))
    store.add_task(make_task())  # same source: nothing changes
    assert len(store.best_all()) == 1
    store.add_task(make_task(source=make_task().source.replace("4096", "8192")))
    assert store.best_all() == [] and len(store.attempts(run_id)) == 1
    again = store.add_attempt(make_attempt(run_id, median_ms=1.5, round_=1))
    assert [b.attempt_id for b in store.best_all()] == [again]


def test_maintained_best_equals_best_recomputed_from_attempts(store: SqlStore) -> None:
    rng = random.Random(7)
    run_id = store.create_run({}, coder_model="c", judge_model="j", gpu_name=H100)
    statuses = [Status.ok, Status.ok, Status.suspicious, Status.incorrect]
    batch = []
    for i in range(240):
        attempt = make_attempt(
            run_id,
            task_key=f"level1/{rng.randrange(6)}_Task",
            status=rng.choice(statuses),
            median_ms=rng.choice([None, 0.5, 1.0, 1.0, 2.0, rng.uniform(0.1, 5.0)]),
            gpu_name=rng.choice([H100, A100]),
            round_=i,
        )
        # Mix single-transaction writes with the batched path; both must keep `best` exact.
        if i % 3:
            batch.append(attempt)
        else:
            store.add_attempt(attempt)
        if len(batch) == 20:
            store.add_attempts(batch)
            batch = []
    store.add_attempts(batch)
    maintained = store.best_all()
    assert len(maintained) >= 6
    recomputed = store.best_recomputed()
    key = lambda b: (b.task_key, b.gpu_name, b.attempt_id, b.candidate_median_ms)  # noqa: E731
    assert [key(b) for b in maintained] == [key(b) for b in recomputed]

    assert store.rebuild_best() == len(maintained)
    assert [key(b) for b in store.best_all()] == [key(b) for b in recomputed]
