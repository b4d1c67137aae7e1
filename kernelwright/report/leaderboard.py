"""Leaderboard figures: per-task best kernels and the summary rows the field reports.

Pure functions over plain facts (one `AttemptFact` per stored attempt, one `RunFact` per run), so the
figures can be checked by hand in tests and the store query stays a separate, replaceable step.

Definitions (KernelBench's where it has one):
- a task is *correct* when it has at least one attempt with status `ok`. `suspicious` attempts never
  count: DESIGN.md says they never become "best" until re-verified;
- the best kernel is the fastest `ok` attempt (lowest candidate median time; ties: the earliest),
  as in the store's `best` table; its speedups over eager and over torch.compile are reported;
- fast_p = fraction of *all* tasks in the group that are correct AND have speedup > p;
- geometric-mean speedup is over the correct tasks of the group;
- cost and time per kernel are per task (a run's LLM dollars and wall time are split evenly over
  the tasks it touched; a batch runs one task per run, so this is exact there).
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pydantic import BaseModel, Field

FAST_P_THRESHOLDS: tuple[float, ...] = (0.0, 0.5, 1.0, 1.5, 2.0)
ALL = "all"


@dataclass(frozen=True, slots=True)
class AttemptFact:
    """The few columns of one stored attempt that the leaderboard needs (a plain dataclass: a store
    holds millions of them)."""

    attempt_id: int
    run_id: int
    task_key: str
    level: int
    gpu_name: str
    model: str
    round: int
    status: str
    speedup_vs_eager: float | None = None
    speedup_vs_compiled: float | None = None
    candidate_median_ms: float | None = None


@dataclass(frozen=True, slots=True)
class RunFact:
    """One run's LLM spend and wall time."""

    run_id: int
    cost_usd: float = 0.0
    wall_s: float | None = None


class TaskRow(BaseModel):
    """One (task, GPU, model): its best kernel and what it took to find it."""

    task_key: str
    level: int
    gpu_name: str
    model: str
    correct: bool
    best_speedup_vs_eager: float | None = None
    best_speedup_vs_compiled: float | None = None
    best_attempt_id: int | None = None
    attempts: int
    rounds_to_best: int | None = Field(None, description="Round of the best attempt (1-based as stored).")
    cost_usd: float
    wall_s: float | None = None
    best_by_round: list[float | None] = Field(
        default_factory=list, description="Best correct speedup so far after each round (index = round)."
    )


class SummaryRow(BaseModel):
    """Figures over a group of tasks: one GPU and model, one level or all levels."""

    gpu_name: str
    model: str
    level: str = Field(description="'1', '2', ... or 'all'.")
    tasks: int
    correct: int
    correctness_pct: float
    geomean_speedup: float | None = Field(None, description="Over the correct tasks; None when none are.")
    fast_p: dict[str, float] = Field(description="p (as text, e.g. '1.5') -> fraction of tasks.")
    median_wall_s: float | None = None
    median_cost_usd: float | None = None


class Leaderboard(BaseModel):
    tasks: list[TaskRow]
    summary: list[SummaryRow]


def geometric_mean(values: Sequence[float]) -> float | None:
    positive = [v for v in values if v > 0]
    if not positive:
        return None
    return math.exp(sum(math.log(v) for v in positive) / len(positive))


def fast_p(rows: Sequence[TaskRow], p: float) -> float:
    """KernelBench's fast_p: share of tasks that are correct and faster than p x eager."""
    if not rows:
        return 0.0
    hits = sum(1 for r in rows if r.correct and (r.best_speedup_vs_eager or 0.0) > p)
    return hits / len(rows)


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


@dataclass
class TaskGroup:
    """Everything a TaskRow needs about one (GPU, model, task), aggregated from its attempts."""

    task_key: str
    level: int
    gpu_name: str
    model: str
    attempts: int
    last_round: int
    round_best: dict[int, float]
    best: AttemptFact | None
    run_ids: set[int]


def _best_of(ok: Iterable[AttemptFact]) -> AttemptFact | None:
    return min(
        ok,
        key=lambda f: (f.candidate_median_ms is None, f.candidate_median_ms or 0.0, f.attempt_id),
        default=None,
    )


def group_facts(facts: Sequence[AttemptFact]) -> list[TaskGroup]:
    """The pure-Python aggregation (the store path does the same in SQL, see facts.py)."""
    by_task: dict[tuple[str, str, str], list[AttemptFact]] = defaultdict(list)
    for f in facts:
        by_task[(f.gpu_name, f.model, f.task_key)].append(f)
    groups = []
    for members in by_task.values():
        first = members[0]
        ok = [f for f in members if f.status == "ok" and f.speedup_vs_eager is not None]
        round_best: dict[int, float] = {}
        for f in ok:
            round_best[f.round] = max(round_best.get(f.round, 0.0), f.speedup_vs_eager or 0.0)
        groups.append(
            TaskGroup(
                task_key=first.task_key, level=first.level, gpu_name=first.gpu_name, model=first.model,
                attempts=len(members), last_round=max(f.round for f in members), round_best=round_best,
                best=_best_of(ok), run_ids={f.run_id for f in members},
            )
        )  # fmt: skip
    return groups


def _run_shares(groups: Sequence[TaskGroup], runs: Sequence[RunFact]) -> dict[tuple[int, str], RunFact]:
    """Splits each run's cost and time evenly over the tasks that run touched."""
    tasks_of_run: dict[int, set[str]] = defaultdict(set)
    for g in groups:
        for run_id in g.run_ids:
            tasks_of_run[run_id].add(g.task_key)
    shares = {}
    for run in runs:
        keys = tasks_of_run.get(run.run_id, set())
        for key in keys:
            wall = None if run.wall_s is None else run.wall_s / len(keys)
            shares[(run.run_id, key)] = RunFact(
                run_id=run.run_id, cost_usd=run.cost_usd / len(keys), wall_s=wall
            )
    return shares


def _task_row(g: TaskGroup, shares: dict[tuple[int, str], RunFact]) -> TaskRow:
    best_by_round: list[float | None] = []
    so_far: float | None = None
    for rnd in range(g.last_round + 1):
        if rnd in g.round_best:
            so_far = max(g.round_best[rnd], so_far or 0.0)
        best_by_round.append(so_far)
    run_shares = [shares[(r, g.task_key)] for r in g.run_ids if (r, g.task_key) in shares]
    walls = [s.wall_s for s in run_shares if s.wall_s is not None]
    best = g.best
    return TaskRow(
        task_key=g.task_key,
        level=g.level,
        gpu_name=g.gpu_name,
        model=g.model,
        correct=best is not None,
        best_speedup_vs_eager=best.speedup_vs_eager if best else None,
        best_speedup_vs_compiled=best.speedup_vs_compiled if best else None,
        best_attempt_id=best.attempt_id if best else None,
        attempts=g.attempts,
        rounds_to_best=best.round if best else None,
        cost_usd=sum(s.cost_usd for s in run_shares),
        wall_s=sum(walls) if walls else None,
        best_by_round=best_by_round,
    )


def summarize(rows: Sequence[TaskRow], gpu_name: str, model: str, level: str) -> SummaryRow:
    correct = [r for r in rows if r.correct]
    return SummaryRow(
        gpu_name=gpu_name,
        model=model,
        level=level,
        tasks=len(rows),
        correct=len(correct),
        correctness_pct=100.0 * len(correct) / len(rows) if rows else 0.0,
        geomean_speedup=geometric_mean([r.best_speedup_vs_eager or 0.0 for r in correct]),
        fast_p={f"{p:g}": fast_p(rows, p) for p in FAST_P_THRESHOLDS},
        median_wall_s=_median(r.wall_s for r in rows),
        median_cost_usd=_median(r.cost_usd for r in rows),
    )


def build_leaderboard(facts: Sequence[AttemptFact], runs: Sequence[RunFact]) -> Leaderboard:
    """Per-task rows and summary rows (per GPU and model: each level, then all levels)."""
    return leaderboard_from_groups(group_facts(facts), runs)


def leaderboard_from_groups(groups: Sequence[TaskGroup], runs: Sequence[RunFact]) -> Leaderboard:
    shares = _run_shares(groups, runs)
    ordered = sorted(groups, key=lambda g: (g.gpu_name, g.model, g.task_key))
    rows = [_task_row(g, shares) for g in ordered]
    by_setup: dict[tuple[str, str], list[TaskRow]] = defaultdict(list)
    for row in rows:
        by_setup[(row.gpu_name, row.model)].append(row)
    summary = []
    for (gpu, model), group in sorted(by_setup.items()):
        for level in sorted({r.level for r in group}):
            summary.append(summarize([r for r in group if r.level == level], gpu, model, str(level)))
        summary.append(summarize(group, gpu, model, ALL))
    return Leaderboard(tasks=rows, summary=summary)
