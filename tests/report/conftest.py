"""A small store with known figures, built through the real store API (SQLite), for the leaderboard,
HTML report and export tests.

The Verdicts are written by hand in the shape the sandbox records on a GPU (status, timings,
speedups); these tests only read them back, so no GPU is needed (the allowed GPU double)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from kernelwright.contracts import Attempt, LLMCall, Task, TimingStats, Verdict
from kernelwright.store import SqlStore, open_store
from tests.support.recorded import NATIVE_RELU

RELU_REFERENCE = '''import torch


class Model(torch.nn.Module):
    """Applies ReLU."""

    def __init__(self):
        super().__init__()

    def forward(self, x):
        return torch.relu(x)


def get_inputs():
    return [torch.randn(16, 4096)]


def get_init_inputs():
    return []
'''


def make_task(key: str, source: str = RELU_REFERENCE) -> Task:
    level, name = key.split("/")
    return Task(
        name=name,
        level=int(level.removeprefix("level")),
        task_id=int(name.split("_")[0]),
        path=f"/suite/{key}.py",
        source=source,
        source_sha256=hashlib.sha256(source.encode()).hexdigest(),
    )


def verdict(status: str, speedup: float | None = None, *, eager_ms: float = 3.0, compiled: float | None = None,
            gpu: str = "NVIDIA H100 80GB HBM3") -> Verdict:  # fmt: skip
    """A Verdict shaped like the sandbox's: the candidate median is eager_ms / speedup."""
    if speedup is None:
        return Verdict(status=status, message=f"recorded {status}", device="cuda", gpu_name=gpu)

    def stats(ms: float) -> TimingStats:
        return TimingStats(median_ms=ms, iqr_ms=ms * 0.01, cv=0.01, trials=100)

    return Verdict(
        status=status,
        candidate_timing=stats(eager_ms / speedup),
        eager_timing=stats(eager_ms),
        speedup_vs_eager=speedup,
        speedup_vs_compiled=compiled,
        device="cuda",
        gpu_name=gpu,
    )


@dataclass
class FixtureStore:
    url: str
    store: SqlStore
    runs: dict[str, int]


H100, A100 = "NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB"

# (task key, gpu, model, [(round, status, speedup, compiled speedup)], LLM dollars)
PLAN = [
    ("level1/1_A", H100, "m1", [(0, "incorrect", None, None), (1, "ok", 1.5, 1.1), (2, "ok", 2.5, 1.25)], [0.10, 0.20]),
    ("level1/2_B", H100, "m1", [(0, "ok", 0.8, 0.5), (1, "suspicious", 20.0, 15.0)], [0.05]),
    ("level1/3_C", H100, "m1", [(0, "compile_error", None, None), (1, "runtime_error", None, None)], [0.40]),
    ("level2/4_D", H100, "m1", [(0, "ok", 1.2, 0.9)], [0.15]),
    ("level1/1_A", A100, "m1", [(0, "ok", 1.8, 1.0)], [0.0]),
    ("level1/2_B", H100, "m2", [(0, "ok", 3.0, 2.0), (1, "ok", 2.0, 1.5)], [0.01, 0.02]),
]  # fmt: skip


def build_fixture_store(url: str) -> FixtureStore:
    store = open_store(url)
    runs = {}
    for key, gpu, model, attempts, costs in PLAN:
        task = make_task(key)
        store.add_task(task)
        run_id = store.create_run({"task_key": key}, coder_model=model, judge_model=model, gpu_name=gpu)
        for rnd, status, speedup, compiled in attempts:
            store.add_attempt(
                Attempt(
                    run_id=run_id, task_key=key, round=rnd, candidate_index=0, mode="optimize",
                    code=NATIVE_RELU + f"# {key} round {rnd}\n",
                    verdict=verdict(status, speedup, compiled=compiled, gpu=gpu), gpu_name=gpu,
                )
            )  # fmt: skip
        for usd in costs:
            store.add_llm_call(
                LLMCall(run_id=run_id, role="coder", model=model, prompt="[]", response="x", cost_usd=usd)
            )
        store.finish_run(run_id, "done")
        runs[f"{key}@{gpu}@{model}"] = run_id
    # a compile-only attempt measured nothing and must not appear on the leaderboard
    co = store.create_run({}, coder_model="m1", judge_model="m1", gpu_name="none")
    store.add_attempt(Attempt(run_id=co, task_key="level1/1_A", round=0, candidate_index=0, code="x",
                              verdict=Verdict(status="ok"), gpu_name="none"))  # fmt: skip
    store.finish_run(co, "done")
    return FixtureStore(url=url, store=store, runs=runs)


@pytest.fixture
def fixture_store(store_url: str) -> Iterator[FixtureStore]:
    fx = build_fixture_store(store_url)
    yield fx
    fx.store.close()
