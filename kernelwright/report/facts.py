"""Reads the leaderboard's facts out of the store. `task_groups` aggregates in SQL (GROUP BY and a
window function; no ORM objects, no JSON parsing), so a million-attempt store ranks in seconds;
`attempt_facts` reads every attempt row, for the pure-Python aggregation it must agree with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.engine import Engine

from kernelwright.report.leaderboard import AttemptFact, RunFact, TaskGroup
from kernelwright.store.models import AttemptModel, LLMCallModel, RunModel, TaskModel


@dataclass(frozen=True)
class FactFilter:
    """Narrows the leaderboard: exact GPU name, exact coder model, one level."""

    gpu_name: str | None = None
    model: str | None = None
    level: int | None = None


def _filtered(query: Select[*tuple[Any, ...]], where: FactFilter) -> Select[*tuple[Any, ...]]:
    # compile-only attempts measured nothing: they are not on anyone's leaderboard
    query = query.where(AttemptModel.gpu_name != "none")
    if where.gpu_name is not None:
        query = query.where(AttemptModel.gpu_name == where.gpu_name)
    if where.model is not None:
        query = query.where(RunModel.coder_model == where.model)
    if where.level is not None:
        query = query.where(TaskModel.level == where.level)
    return query


def task_groups(engine: Engine, where: FactFilter = FactFilter()) -> list[TaskGroup]:
    """One TaskGroup per (GPU, coder model, task), aggregated by the database."""
    a, t, r = AttemptModel, TaskModel, RunModel
    keys = (a.gpu_name, r.coder_model, t.key)

    def joined(*cols: Any) -> Select[Any]:
        return _filtered(
            select(*cols).select_from(a).join(t, t.id == a.task_id).join(r, r.id == a.run_id), where
        )

    measured_ok = and_(a.status == "ok", a.speedup_vs_eager.is_not(None))
    rank = func.row_number().over(
        partition_by=keys, order_by=(a.candidate_median_ms.is_(None), a.candidate_median_ms, a.id)
    )
    ranked = joined(*keys, a.id, a.run_id, t.level, a.round, a.speedup_vs_eager, a.speedup_vs_compiled,
                    a.candidate_median_ms, rank.label("rank")).where(measured_ok).subquery()  # fmt: skip
    with engine.connect() as conn:
        counts = conn.execute(
            joined(*keys, t.level, func.count(), func.max(a.round)).group_by(*keys, t.level)
        ).all()
        per_round = conn.execute(
            joined(*keys, a.round, func.max(a.speedup_vs_eager)).where(measured_ok).group_by(*keys, a.round)
        ).all()
        bests = conn.execute(select(ranked).where(ranked.c.rank == 1)).all()
        run_pairs = conn.execute(joined(*keys, a.run_id).distinct()).all()
    groups: dict[tuple[str, str, str], TaskGroup] = {}
    for gpu, model, key, level, n, last in counts:
        groups[(gpu, model, key)] = TaskGroup(key, level, gpu, model, n, last, {}, None, set())
    for gpu, model, key, rnd, speed in per_round:
        groups[(gpu, model, key)].round_best[rnd] = speed
    for gpu, model, key, attempt_id, run_id, level, rnd, eager, compiled, median, _ in bests:
        groups[(gpu, model, key)].best = AttemptFact(
            attempt_id, run_id, key, level, gpu, model, rnd, "ok", eager, compiled, median
        )
    for gpu, model, key, run_id in run_pairs:
        groups[(gpu, model, key)].run_ids.add(run_id)
    return list(groups.values())


def attempt_facts(engine: Engine, where: FactFilter = FactFilter()) -> list[AttemptFact]:
    a, t, r = AttemptModel, TaskModel, RunModel
    query = (
        select(
            a.id,
            a.run_id,
            t.key,
            t.level,
            a.gpu_name,
            r.coder_model,
            a.round,
            a.status,
            a.speedup_vs_eager,
            a.speedup_vs_compiled,
            a.candidate_median_ms,
        )
        .join(t, t.id == a.task_id)
        .join(r, r.id == a.run_id)
    )
    query = _filtered(query, where)
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    return [
        AttemptFact(
            attempt_id=row[0],
            run_id=row[1],
            task_key=row[2],
            level=row[3],
            gpu_name=row[4],
            model=row[5],
            round=row[6],
            status=row[7],
            speedup_vs_eager=row[8],
            speedup_vs_compiled=row[9],
            candidate_median_ms=row[10],
        )
        for row in rows
    ]


def run_facts(engine: Engine, run_ids: set[int] | None = None) -> list[RunFact]:
    cost = select(LLMCallModel.run_id, func.coalesce(func.sum(LLMCallModel.cost_usd), 0.0)).group_by(
        LLMCallModel.run_id
    )
    with engine.connect() as conn:
        costs = dict(conn.execute(cost).all())
        runs = conn.execute(select(RunModel.id, RunModel.started_at, RunModel.finished_at)).all()
    out = []
    for run_id, started, finished in runs:
        if run_ids is not None and run_id not in run_ids:
            continue
        wall = (finished - started).total_seconds() if started and finished else None
        out.append(RunFact(run_id=run_id, cost_usd=float(costs.get(run_id, 0.0)), wall_s=wall))
    return out
