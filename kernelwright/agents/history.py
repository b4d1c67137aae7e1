"""`kernelwright show`: the attempt history of a run or a task, and what its LLM calls cost."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kernelwright.contracts import Attempt, LLMCall
from kernelwright.errors import ConfigError
from kernelwright.interfaces import StoreReader


def attempt_row(attempt: Attempt, attempt_id: int | None = None) -> dict[str, Any]:
    v = attempt.verdict
    return {
        "id": attempt_id,
        "run_id": attempt.run_id,
        "task": attempt.task_key,
        "round": attempt.round,
        "candidate": attempt.candidate_index,
        "mode": attempt.mode,
        "status": v.status.value,
        "rule": v.rule,
        "speedup_vs_eager": v.speedup_vs_eager,
        "speedup_vs_compiled": v.speedup_vs_compiled,
        "median_ms": v.candidate_timing.median_ms if v.candidate_timing else None,
        "sol_pct": attempt.profile.roofline.sol_pct if attempt.profile and attempt.profile.roofline else None,
        "gpu": attempt.gpu_name,
        "message": v.message,
    }


def run_history(store: StoreReader, run_id: int) -> dict[str, Any]:
    info = store.run(run_id)
    if info is None:
        raise ConfigError(f"There is no run {run_id} in the store.")
    calls = store.llm_calls(run_id)
    return {
        "run": info.model_dump(mode="json"),
        "attempts": [attempt_row(a) for a in store.attempts(run_id)],
        "llm": _llm_totals(calls),
    }


def task_history(store: StoreReader, task_key: str) -> dict[str, Any]:
    stored = store.attempts_for_task(task_key)
    if not stored:
        raise ConfigError(f"The store holds no attempts for task {task_key}.")
    run_ids = sorted({s.attempt.run_id for s in stored})
    calls = [c for rid in run_ids for c in store.llm_calls(rid)]
    return {
        "task": task_key,
        "runs": run_ids,
        "attempts": [attempt_row(s.attempt, s.id) for s in stored],
        "llm": _llm_totals(calls),
    }


def _llm_totals(calls: Sequence[LLMCall]) -> dict[str, Any]:
    by_role: dict[str, dict[str, float]] = {}
    for c in calls:
        role = by_role.setdefault(
            c.role, {"calls": 0, "cost_usd": 0.0, "tokens_in": 0, "tokens_out": 0, "errors": 0}
        )
        role["calls"] += 1
        role["cost_usd"] += c.cost_usd
        role["tokens_in"] += c.tokens_in
        role["tokens_out"] += c.tokens_out
        role["errors"] += 1 if c.error else 0
    return {
        "calls": len(calls),
        "cost_usd": sum(c.cost_usd for c in calls),
        "tokens": sum(c.tokens_in + c.tokens_out for c in calls),
        "by_role": by_role,
    }
