"""What goes into the store comes back equal: runs, tasks, attempts with verdicts and profiles,
LLM calls, metrics and baselines; and what must not be stored (secrets, NUL bytes) is not."""

from __future__ import annotations

import math

import pytest

from kernelwright.contracts import Metric, Status
from kernelwright.errors import StoreError
from kernelwright.store import SqlStore

from .sample_records import make_attempt, make_llm_call, make_profile, make_task, timing

H100 = "NVIDIA H100 80GB HBM3"


def test_run_lifecycle_and_totals(store: SqlStore) -> None:
    config = {"rounds": 5, "llm": {"coder": {"model": "m", "api_key": "sk-live-0123456789abcdef"}}}
    run_id = store.create_run(config, coder_model="coder-m", judge_model="judge-m", gpu_name=H100)
    second = store.create_run({}, coder_model="c", judge_model="j", gpu_name="none")
    store.add_llm_call(make_llm_call(run_id, "coder", cost_usd=0.25))
    store.add_llm_call(make_llm_call(run_id, "judge", cost_usd=0.5))
    store.add_attempt(make_attempt(run_id))

    info = store.run(run_id)
    assert info is not None and info.status == "running" and info.finished_at is None
    assert (info.coder_model, info.judge_model, info.gpu_name) == ("coder-m", "judge-m", H100)
    assert info.config == {"rounds": 5, "llm": {"coder": {"model": "m", "api_key": "***"}}}
    assert (info.attempts, info.tokens) == (1, 2 * 1500) and math.isclose(info.cost_usd, 0.75)
    assert store.spent(run_id) == pytest.approx((0.75, 3000))
    assert store.spent(second) == (0.0, 0)

    store.finish_run(run_id, "done")
    finished = store.run(run_id)
    assert finished.status == "done" and finished.finished_at >= finished.started_at
    assert finished.started_at.tzinfo is not None
    assert [r.id for r in store.runs()] == [second, run_id]
    assert store.run(12345) is None
    with pytest.raises(StoreError, match="run 12345 does not exist"):
        store.finish_run(12345, "done")


def test_attempts_round_trip_with_verdict_profile_and_parent(store: SqlStore) -> None:
    run_id = store.create_run({}, coder_model="c", judge_model="j", gpu_name=H100)
    seed = make_attempt(run_id, status=Status.incorrect, median_ms=None, profile=None)
    seed_id = store.add_attempt(seed)
    child = make_attempt(run_id, median_ms=0.8, round_=1, candidate_index=2, parent_attempt_id=seed_id,
                         profile=make_profile())  # fmt: skip
    child_id = store.add_attempt(child)
    other_task = make_attempt(run_id, task_key="level2/5_GemmRelu", median_ms=3.0)
    store.add_attempt(other_task)

    assert store.attempts(run_id) == [seed, child, other_task]
    assert store.attempts(run_id, "level1/19_ReLU") == [seed, child]
    assert store.attempts(run_id + 1) == []
    stored = store.attempt(child_id)
    assert stored is not None and stored.attempt == child and stored.attempt.parent_attempt_id == seed_id
    assert [s.id for s in store.attempts_for_task("level1/19_ReLU")] == [seed_id, child_id]
    assert store.attempts_for_task("level1/19_ReLU", gpu_name="other GPU") == []
    assert store.max_attempt_round(run_id, "level1/19_ReLU") == 1
    assert store.max_attempt_round(run_id, "level3/unknown") is None
    with pytest.raises(StoreError, match="refused the write"):
        store.add_attempt(make_attempt(run_id, parent_attempt_id=10_000))


def test_task_known_by_key_first_then_completed_by_add_task(store: SqlStore) -> None:
    run_id = store.create_run({}, coder_model="c", judge_model="j", gpu_name=H100)
    store.add_attempt(make_attempt(run_id, task_key="level1/19_ReLU"))
    assert store.task("level1/19_ReLU") is None  # only a key so far
    assert store.best_all()[0].task_name == "19_ReLU" and store.best_all()[0].level == 1
    task_id = store.add_task(make_task())
    assert store.add_task(make_task()) == task_id
    assert store.task("level1/19_ReLU") == make_task()
    assert store.attempts(run_id)[0].task_key == "level1/19_ReLU"
    ids = store.ensure_tasks(["level2/7_New", "level1/19_ReLU", "level2/7_New"])
    assert list(ids) == ["level2/7_New", "level1/19_ReLU"] and ids["level1/19_ReLU"] == task_id
    assert store.ensure_tasks(["level2/7_New"]) == {"level2/7_New": ids["level2/7_New"]}


def test_llm_calls_and_metrics_round_trip(store: SqlStore) -> None:
    run_id = store.create_run({}, coder_model="c", judge_model="j", gpu_name=H100)
    calls = [make_llm_call(run_id, "coder"), make_llm_call(run_id, "judge")]
    failed = make_llm_call(run_id).model_copy(
        update={
            "response": None,
            "error": "401 Incorrect API key provided: sk-proj-abcdefghijklmnop.",
            "cost_usd": 0,
        }
    )
    for call in [*calls, failed]:
        store.add_llm_call(call)
    loaded = store.llm_calls(run_id)
    assert loaded[:2] == calls
    assert loaded[2].error == "401 Incorrect API key provided: sk-***." and loaded[2].response is None

    attempt_id = store.add_attempt(make_attempt(run_id, profile=make_profile()))
    metrics = [*make_profile().metrics, Metric(source="static", name="registers_per_thread", value=16)]
    store.add_metrics(attempt_id, [*metrics, Metric(source="ncu", name="not.collected", value=float("nan"))])
    assert store.metrics(attempt_id) == metrics  # NaN means "not measured" and is not stored
    with pytest.raises(StoreError):
        store.add_metrics(attempt_id + 100, metrics)
    assert store.metrics(attempt_id) == metrics


def test_nul_bytes_from_hostile_output_are_stored_replaced(store: SqlStore) -> None:
    run_id = store.create_run({}, coder_model="c", judge_model="j", gpu_name=H100)
    attempt = make_attempt(run_id, status=Status.runtime_error, median_ms=None)
    attempt = attempt.model_copy(
        update={
            "code": "x = '\x00'",
            "verdict": attempt.verdict.model_copy(update={"log": "printf\x00garbage"}),
        }
    )
    store.add_attempt(attempt)
    loaded = store.attempts(run_id)[0]
    assert loaded.code == "x = '\ufffd'" and loaded.verdict.log == "printf\ufffdgarbage"


def test_baselines_cache_per_gpu_torch_version_and_task_source(store: SqlStore) -> None:
    store.add_task(make_task())
    store.put_baseline("level1/19_ReLU", H100, "2.13.0", eager=timing(2.0), compiled=timing(1.5))
    got = store.get_baseline("level1/19_ReLU", H100, "2.13.0")
    assert got is not None and got.eager == timing(2.0) and got.compiled == timing(1.5)
    assert store.get_baseline("level1/19_ReLU", H100, "2.12.0") is None
    assert store.get_baseline("level1/19_ReLU", "NVIDIA A100", "2.13.0") is None
    store.put_baseline("level1/19_ReLU", H100, "2.13.0", eager=timing(2.2), compiled=None)
    replaced = store.get_baseline("level1/19_ReLU", H100, "2.13.0")
    assert replaced.eager == timing(2.2) and replaced.compiled is None
    # A changed reference makes the cached timings stale.
    store.add_task(make_task(source=make_task().source + "\n# edited\n"))
    assert store.get_baseline("level1/19_ReLU", H100, "2.13.0") is None
