"""Reads the leaderboard's facts out of the store in two flat queries (no ORM objects, no JSON
parsing), so a million-attempt store ranks in seconds."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from kernelwright.report.leaderboard import AttemptFact, RunFact
from kernelwright.store.models import AttemptModel, LLMCallModel, RunModel, TaskModel


@dataclass(frozen=True)
class FactFilter:
    """Narrows the leaderboard: exact GPU name, exact coder model, one level."""

    gpu_name: str | None = None
    model: str | None = None
    level: int | None = None


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
        # compile-only attempts measured nothing: they are not on anyone's leaderboard
        .where(a.gpu_name != "none")
    )
    if where.gpu_name is not None:
        query = query.where(a.gpu_name == where.gpu_name)
    if where.model is not None:
        query = query.where(r.coder_model == where.model)
    if where.level is not None:
        query = query.where(t.level == where.level)
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
