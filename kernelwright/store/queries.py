"""The store's reads: the Store Protocol's `attempts` and `best`, plus what the CLI, the loop's resume,
batch and report need. Each returns contract records (RunInfo, StoredAttempt, BestEntry, Baseline among them)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, and_, func, select
from sqlalchemy.orm import Session, aliased

from kernelwright.contracts import (
    Attempt,
    Baseline,
    BestEntry,
    LLMCall,
    Metric,
    RunInfo,
    StoredAttempt,
    Task,
    TimingStats,
)
from kernelwright.store.models import (
    AttemptModel,
    BaselineModel,
    BestModel,
    LLMCallModel,
    MetricModel,
    RunModel,
    TaskModel,
)
from kernelwright.store.serialize import attempt_from_row, llm_call_from_row, task_from_row
from kernelwright.store.session import StoreSessions


class StoreQueries(StoreSessions):
    # ------------------------------------------------------------ attempts

    def attempts(self, run_id: int, task_key: str | None = None) -> list[Attempt]:
        """Attempts of one run (optionally one task), in the order they were recorded."""
        stmt = _attempts_select().where(AttemptModel.run_id == run_id)
        if task_key is not None:
            stmt = stmt.where(TaskModel.key == task_key)
        with self._read() as s:
            return [attempt_from_row(row, key) for row, key in s.execute(stmt)]

    def attempts_for_task(self, task_key: str, gpu_name: str | None = None) -> list[StoredAttempt]:
        """Every attempt at one task across all runs (optionally on one GPU), with store ids."""
        stmt = _attempts_select().where(TaskModel.key == task_key)
        if gpu_name is not None:
            stmt = stmt.where(AttemptModel.gpu_name == gpu_name)
        with self._read() as s:
            return [
                StoredAttempt(id=row.id, attempt=attempt_from_row(row, key)) for row, key in s.execute(stmt)
            ]

    def attempt(self, attempt_id: int) -> StoredAttempt | None:
        with self._read() as s:
            found = s.execute(_attempts_select().where(AttemptModel.id == attempt_id)).first()
            return None if found is None else StoredAttempt(id=attempt_id, attempt=attempt_from_row(*found))

    def max_attempt_round(self, run_id: int, task_key: str) -> int | None:
        """The highest round recorded for (run, task), or None if none: where a resumed run goes on."""
        stmt = (
            select(func.max(AttemptModel.round))
            .join(TaskModel, AttemptModel.task_id == TaskModel.id)
            .where(AttemptModel.run_id == run_id, TaskModel.key == task_key)
        )
        with self._read() as s:
            return s.scalar(stmt)

    def metrics(self, attempt_id: int) -> list[Metric]:
        stmt = select(MetricModel).where(MetricModel.attempt_id == attempt_id).order_by(MetricModel.id)
        with self._read() as s:
            return [
                Metric(source=m.source, name=m.name, value=m.value, unit=m.unit, kernel=m.kernel)
                for m in s.scalars(stmt)
            ]

    # ------------------------------------------------------------ best

    def best(self, task_key: str, gpu_name: str) -> Attempt | None:
        """The fastest attempt with status 'ok' and a measured time for (task, GPU), if any."""
        stmt = (
            _attempts_select()
            .join(BestModel, BestModel.attempt_id == AttemptModel.id)
            .where(TaskModel.key == task_key, BestModel.gpu_name == gpu_name)
        )
        with self._read() as s:
            found = s.execute(stmt).first()
            return None if found is None else attempt_from_row(*found)

    def best_all(self, gpu_name: str | None = None) -> list[BestEntry]:
        """The leaderboard: one row per (task, GPU), read from the maintained `best` table."""
        stmt = (
            select(
                TaskModel.key,
                TaskModel.name,
                TaskModel.level,
                BestModel.gpu_name,
                BestModel.attempt_id,
                AttemptModel.run_id,
                BestModel.candidate_median_ms,
                BestModel.speedup_vs_eager,
                BestModel.speedup_vs_compiled,
                BestModel.updated_at,
            )
            .select_from(BestModel)
            .join(TaskModel, BestModel.task_id == TaskModel.id)
            .join(AttemptModel, BestModel.attempt_id == AttemptModel.id)
            .order_by(TaskModel.level, TaskModel.name, BestModel.gpu_name)
        )
        if gpu_name is not None:
            stmt = stmt.where(BestModel.gpu_name == gpu_name)
        with self._read() as s:
            return [_best_entry(row._mapping) for row in s.execute(stmt)]

    def best_recomputed(self, gpu_name: str | None = None) -> list[BestEntry]:
        """The same leaderboard derived from the attempts themselves (audits the `best` table)."""
        chosen = best_attempts_select(gpu_name).subquery()
        stmt = (
            select(
                TaskModel.key,
                TaskModel.name,
                TaskModel.level,
                AttemptModel.gpu_name,
                AttemptModel.id.label("attempt_id"),
                AttemptModel.run_id,
                AttemptModel.candidate_median_ms,
                AttemptModel.speedup_vs_eager,
                AttemptModel.speedup_vs_compiled,
                AttemptModel.created_at.label("updated_at"),
            )
            .select_from(chosen)
            .join(AttemptModel, AttemptModel.id == chosen.c.attempt_id)
            .join(TaskModel, TaskModel.id == chosen.c.task_id)
            .order_by(TaskModel.level, TaskModel.name, AttemptModel.gpu_name)
        )
        with self._read() as s:
            return [_best_entry(row._mapping) for row in s.execute(stmt)]

    # ------------------------------------------------------------ runs, tasks, LLM calls

    def runs(self) -> list[RunInfo]:
        """All runs, newest first, with attempt counts and LLM spend."""
        with self._read() as s:
            return [_run_info(row) for row in s.execute(_runs_select().order_by(RunModel.id.desc()))]

    def run(self, run_id: int) -> RunInfo | None:
        with self._read() as s:
            row = s.execute(_runs_select().where(RunModel.id == run_id)).first()
            return None if row is None else _run_info(row)

    def spent(self, run_id: int) -> tuple[float, int]:
        """(dollars, tokens in + out) spent on LLM calls by one run so far."""
        stmt = select(
            func.coalesce(func.sum(LLMCallModel.cost_usd), 0.0),
            func.coalesce(func.sum(LLMCallModel.tokens_in + LLMCallModel.tokens_out), 0),
        ).where(LLMCallModel.run_id == run_id)
        with self._read() as s:
            usd, tokens = s.execute(stmt).one()
            return float(usd), int(tokens)

    def llm_calls(self, run_id: int) -> list[LLMCall]:
        stmt = select(LLMCallModel).where(LLMCallModel.run_id == run_id).order_by(LLMCallModel.id)
        with self._read() as s:
            return [llm_call_from_row(row) for row in s.scalars(stmt)]

    def task(self, task_key: str) -> Task | None:
        """The task as last given to add_task; None if unknown or known only by key from an attempt."""
        with self._read() as s:
            row = s.scalar(select(TaskModel).where(TaskModel.key == task_key))
            return None if row is None or not row.source_sha256 else task_from_row(row)

    # ------------------------------------------------------------ baselines

    def get_baseline(self, task_key: str, gpu_name: str, torch_version: str) -> Baseline | None:
        """Cached reference timings, or None when absent or measured on a different task source."""
        stmt = (
            select(BaselineModel, TaskModel.source_sha256)
            .join(TaskModel, BaselineModel.task_id == TaskModel.id)
            .where(
                TaskModel.key == task_key,
                BaselineModel.gpu_name == gpu_name,
                BaselineModel.torch_version == torch_version,
            )
        )
        with self._read() as s:
            found = s.execute(stmt).first()
            if found is None or found[0].source_sha256 != found[1]:
                return None
            row = found[0]
            return Baseline(
                task_key=task_key,
                gpu_name=gpu_name,
                torch_version=torch_version,
                source_sha256=row.source_sha256,
                eager=TimingStats.model_validate(row.eager_timing) if row.eager_timing else None,
                compiled=TimingStats.model_validate(row.compiled_timing) if row.compiled_timing else None,
                measured_at=row.measured_at,
            )

    # ------------------------------------------------------------ examples across tasks

    def best_of_class(
        self,
        op_class: str,
        *,
        gpu_name: str | None = None,
        exclude_task: str | None = None,
        limit: int = 2,
        min_speedup: float = 1.0,
    ) -> list[StoredAttempt]:
        """The kernels that won most clearly on other tasks of one operator class (see
        kernelbench.op_class): each task's best 'ok' attempt faster than eager by more than
        `min_speedup`, ranked by that speedup (medians of different tasks do not compare). Those
        measured on `gpu_name` come first; other GPUs' fill the rest, so the GPU must be shown."""
        if limit <= 0:
            return []
        stmt = (
            select(
                BestModel.task_id,
                BestModel.gpu_name,
                BestModel.attempt_id,
                BestModel.speedup_vs_eager,
                TaskModel.key,
                TaskModel.name,
                TaskModel.source_sha256,
            )
            .select_from(BestModel)
            .join(TaskModel, BestModel.task_id == TaskModel.id)
            # `best` only ever holds 'ok' attempts; read the status anyway, it costs one join.
            .join(AttemptModel, BestModel.attempt_id == AttemptModel.id)
            .where(AttemptModel.status == "ok", BestModel.speedup_vs_eager > min_speedup)
            .order_by(BestModel.attempt_id)
        )
        if exclude_task is not None:
            stmt = stmt.where(TaskModel.key != exclude_task)
        with self._read() as s:
            rows = [row._mapping for row in s.execute(stmt)]
            classes = _classes_of_tasks(s, rows)
            picked: dict[int, tuple[bool, float, str, int]] = {}
            for row in rows:
                if classes[row["task_id"]] != op_class:
                    continue
                rank = (
                    row["gpu_name"] == gpu_name,
                    float(row["speedup_vs_eager"]),
                    row["key"],
                    row["attempt_id"],
                )
                held = picked.get(row["task_id"])
                if held is None or rank[:2] > held[:2]:
                    picked[row["task_id"]] = rank
            chosen = sorted(picked.values(), key=lambda r: (not r[0], -r[1], r[2]))[:limit]
            ids = [r[3] for r in chosen]
            found = {
                row.id: (row, key)
                for row, key in s.execute(_attempts_select().where(AttemptModel.id.in_(ids)))
            }
            return [StoredAttempt(id=i, attempt=attempt_from_row(*found[i])) for i in ids if i in found]


# (source sha256, task name) -> operator class: a pure function of the two, so shared by all stores.
_OP_CLASS_CACHE: dict[tuple[str, str], str] = {}


def _classes_of_tasks(s: Session, rows: list[Any]) -> dict[int, str]:
    """The operator class of each task in `rows`, reading the sources of those not yet classified."""
    # Imported here: the kernelbench package pulls in torch, which the store's other readers never need.
    from kernelwright.kernelbench.op_class import classify

    classes: dict[int, str] = {}
    unknown: dict[int, tuple[str, str]] = {}
    for row in rows:
        cache_key = (row["source_sha256"], row["name"])
        if cache_key in _OP_CLASS_CACHE:
            classes[row["task_id"]] = _OP_CLASS_CACHE[cache_key]
        else:
            unknown[row["task_id"]] = cache_key
    if unknown:
        sources = select(TaskModel.id, TaskModel.source).where(TaskModel.id.in_(list(unknown)))
        for task_id, source in s.execute(sources):
            cache_key = unknown[task_id]
            _OP_CLASS_CACHE[cache_key] = classes[task_id] = classify(source, cache_key[1]).value
    return classes


def best_attempts_select(gpu_name: str | None = None) -> Select[Any]:
    """(task_id, gpu_name, attempt_id) of the best attempt of each (task, GPU), from the attempts.

    Two grouped passes that both read only the covering index (task, GPU, status, median): the
    fastest median per group, then the earliest attempt with it, since in the maintained table only
    a strictly faster attempt replaces the holder. A window function would sort every 'ok' row."""
    eligible = [AttemptModel.status == "ok", AttemptModel.candidate_median_ms > 0]  # > 0 also drops NULL
    if gpu_name is not None:
        eligible.append(AttemptModel.gpu_name == gpu_name)
    fastest = (
        select(
            AttemptModel.task_id,
            AttemptModel.gpu_name,
            func.min(AttemptModel.candidate_median_ms).label("median_ms"),
        )
        .where(*eligible)
        .group_by(AttemptModel.task_id, AttemptModel.gpu_name)
        .subquery("fastest")
    )
    holder = aliased(AttemptModel, name="holder")
    return (
        select(fastest.c.task_id, fastest.c.gpu_name, func.min(holder.id).label("attempt_id"))
        .select_from(fastest)
        .join(
            holder,
            and_(
                holder.task_id == fastest.c.task_id,
                holder.gpu_name == fastest.c.gpu_name,
                holder.status == "ok",
                holder.candidate_median_ms == fastest.c.median_ms,
            ),
        )
        .group_by(fastest.c.task_id, fastest.c.gpu_name)
    )


def _attempts_select() -> Select[AttemptModel, str]:
    return (
        select(AttemptModel, TaskModel.key)
        .join(TaskModel, AttemptModel.task_id == TaskModel.id)
        .order_by(AttemptModel.id)
    )


def _runs_select() -> Select[Any]:
    n_attempts = (
        select(func.count(AttemptModel.id)).where(AttemptModel.run_id == RunModel.id).scalar_subquery()
    )
    cost = (
        select(func.coalesce(func.sum(LLMCallModel.cost_usd), 0.0))
        .where(LLMCallModel.run_id == RunModel.id)
        .scalar_subquery()
    )
    tokens = (
        select(func.coalesce(func.sum(LLMCallModel.tokens_in + LLMCallModel.tokens_out), 0))
        .where(LLMCallModel.run_id == RunModel.id)
        .scalar_subquery()
    )
    return select(RunModel, n_attempts.label("n"), cost.label("usd"), tokens.label("tokens"))


def _run_info(row: Any) -> RunInfo:
    run: RunModel = row[0]
    return RunInfo(
        id=run.id,
        config=run.config,
        coder_model=run.coder_model,
        judge_model=run.judge_model,
        gpu_name=run.gpu_name,
        status=run.status,
        started_at=run.started_at,
        finished_at=run.finished_at,
        attempts=int(row.n),
        cost_usd=float(row.usd),
        tokens=int(row.tokens),
    )


def _best_entry(row: Any) -> BestEntry:
    return BestEntry(
        task_key=row["key"],
        task_name=row["name"],
        level=row["level"],
        gpu_name=row["gpu_name"],
        attempt_id=row["attempt_id"],
        run_id=row["run_id"],
        candidate_median_ms=row["candidate_median_ms"],
        speedup_vs_eager=row["speedup_vs_eager"],
        speedup_vs_compiled=row["speedup_vs_compiled"],
        updated_at=row["updated_at"],
    )
