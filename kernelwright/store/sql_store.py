"""SqlStore: the Store Protocol on any SQLAlchemy database, and `open_store`, which resolves the URL,
checks the server answers and migrates the schema to head before anything is written."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Engine, Executable, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session

from kernelwright.contracts import Attempt, LLMCall, Metric, Task, TimingStats
from kernelwright.errors import StoreError
from kernelwright.store.engine import StoreConfig, create_store_engine, display_url, first_line, resolve_url
from kernelwright.store.migrate import current_revision, upgrade_to
from kernelwright.store.models import (
    AttemptModel,
    BaselineModel,
    BestModel,
    LLMCallModel,
    MetricModel,
    RunModel,
    TaskModel,
)
from kernelwright.store.queries import StoreQueries, best_attempts_select
from kernelwright.store.serialize import (
    attempt_values,
    json_safe,
    llm_call_values,
    metric_values,
    qualifies_for_best,
    redact_config,
    stub_task_values,
    task_values,
)

_BEST_UPDATED = ("attempt_id", "candidate_median_ms", "speedup_vs_eager", "speedup_vs_compiled", "updated_at")
# Statements built once: constructing SQLAlchemy statements per write costs more than the write.
_ATTEMPTS = cast(Table, AttemptModel.__table__)
_INSERT_ATTEMPT = _ATTEMPTS.insert().returning(_ATTEMPTS.c.id)
_INSERT_ATTEMPTS = _ATTEMPTS.insert().returning(_ATTEMPTS.c.id, sort_by_parameter_order=True)
_TASK_ID = select(TaskModel.id).where(TaskModel.key == bindparam("key"))


def open_store(
    url: str | None = None, config: StoreConfig | None = None, *, revision: str = "head", create: bool = True
) -> SqlStore:
    """Opens (creating if needed) the store at `url` (None: $KERNELWRIGHT_DB, else sqlite:///store.db)
    and upgrades its schema to `revision`. Raises StoreError with one sentence when it cannot.

    With create=False (the read-only commands) a missing store, a database without kernelwright's
    schema, or a store without runs is a StoreError (exit 1) instead: reading must not leave an
    empty store.db behind in whatever folder the user happened to be in."""
    config = config or StoreConfig()
    resolved = resolve_url(url or config.url)
    shown = display_url(resolved)
    if not create:
        _require_file(resolved, shown)
    engine = create_store_engine(resolved, config)
    try:
        if not create:
            _require_schema_and_runs(engine, shown)
        upgrade_to(engine, revision, shown)
    except StoreError:
        engine.dispose()
        raise
    except OperationalError as err:
        engine.dispose()
        verb = "open" if engine.dialect.name == "sqlite" else "connect to"
        raise StoreError(f"cannot {verb} the store '{shown}': {first_line(err)}.") from None
    except SQLAlchemyError as err:
        engine.dispose()
        raise StoreError(f"cannot open the store '{shown}': {first_line(err)}.") from None
    return SqlStore(engine, resolved)


_CREATED_BY = "`kernelwright optimize` or `batch` creates one; --db or $KERNELWRIGHT_DB names another"


def _require_file(url: str, shown: str) -> None:
    """A SQLite file store must exist before it is opened: connecting would create it."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        return  # create_store_engine names the problem
    if parsed.get_backend_name() != "sqlite":
        return
    database = parsed.database
    in_file = bool(database) and database != ":memory:" and not str(database).startswith("file:")
    if in_file and not Path(str(database)).is_file():
        raise StoreError(f"There is no store at '{shown}' ({_CREATED_BY}).", exit_code=1)


def _require_schema_and_runs(engine: Engine, shown: str) -> None:
    try:
        with engine.connect() as conn:
            if current_revision(conn) is None:
                raise StoreError(f"'{shown}' holds no kernelwright store ({_CREATED_BY}).", exit_code=1)
            runs = conn.execute(select(func.count()).select_from(RunModel)).scalar_one()
    except SQLAlchemyError:
        return  # open_store's own handling below names the reason
    if runs == 0:
        raise StoreError(f"The store '{shown}' is empty: it holds no runs yet.", exit_code=1)


class SqlStore(StoreQueries):
    """Runs, tasks, attempts, LLM calls, metrics, best per (task, GPU) and baselines in one database.
    Each write method is one transaction: it is either entirely stored or not at all."""

    _best_upsert_stmt: Executable | None = None

    # ------------------------------------------------------------ runs and tasks

    def create_run(self, config: dict[str, Any], *, coder_model: str, judge_model: str, gpu_name: str) -> int:
        row = {
            "config": json_safe(redact_config(config)),
            "coder_model": coder_model,
            "judge_model": judge_model,
            "gpu_name": gpu_name,
            "status": "running",
            "started_at": _now(),
            "finished_at": None,
        }
        with self._write() as s:
            return int(s.execute(insert(RunModel).values(row).returning(RunModel.id)).scalar_one())

    def finish_run(self, run_id: int, status: str) -> None:
        with self._write() as s:
            done = s.execute(
                update(RunModel).where(RunModel.id == run_id).values(status=status, finished_at=_now())
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]
                raise StoreError(f"run {run_id} does not exist in the store '{self.shown_url}'.")

    def add_task(self, task: Task) -> int:
        """Inserts or refreshes a task by key. When its source changed, the best entries measured
        against the old reference are dropped (their attempts stay)."""
        values = task_values(task)
        with self._write() as s:
            task_id = self._task_id(s, task.key)
            old_sha = s.scalar(select(TaskModel.source_sha256).where(TaskModel.id == task_id))
            if old_sha and old_sha != task.source_sha256:
                s.execute(delete(BestModel).where(BestModel.task_id == task_id))
            s.execute(update(TaskModel).where(TaskModel.id == task_id).values(values))
            return task_id

    def ensure_tasks(self, task_keys: Sequence[str]) -> dict[str, int]:
        """Store ids of these task keys, creating key-only rows for unknown ones (bulk imports)."""
        with self._write() as s:
            return {key: self._task_id(s, key) for key in dict.fromkeys(task_keys)}

    # ------------------------------------------------------------ attempts

    def add_attempt(self, attempt: Attempt) -> int:
        """Stores one attempt (creating its task by key if needed) and, in the same transaction,
        makes it the best of (task, GPU) when it is 'ok', measured and strictly faster."""
        with self._write() as s:
            return self._insert_attempts(s, [attempt])[0]

    def add_attempts(self, attempts: Sequence[Attempt]) -> list[int]:
        """Many attempts in ONE transaction (imports, benchmarks): same rules as add_attempt."""
        if not attempts:
            return []
        with self._write() as s:
            return self._insert_attempts(s, attempts)

    def add_metrics(self, attempt_id: int, metrics: Sequence[Metric]) -> None:
        """Stores an attempt's metrics; a NaN value means 'not measured' and is not stored."""
        rows = [metric_values(attempt_id, m) for m in metrics if not math.isnan(m.value)]
        if not rows:
            return
        with self._write() as s:
            s.execute(insert(MetricModel), rows)

    def add_llm_call(self, call: LLMCall) -> int:
        with self._write() as s:
            stmt = insert(LLMCallModel).values(llm_call_values(call)).returning(LLMCallModel.id)
            return int(s.execute(stmt).scalar_one())

    def rebuild_best(self) -> int:
        """Recomputes the whole `best` table from the attempts (after a bulk import); returns its size."""
        chosen = best_attempts_select().subquery()
        source = select(
            chosen.c.task_id,
            chosen.c.gpu_name,
            chosen.c.attempt_id,
            AttemptModel.candidate_median_ms,
            AttemptModel.speedup_vs_eager,
            AttemptModel.speedup_vs_compiled,
        ).join(AttemptModel, AttemptModel.id == chosen.c.attempt_id)
        with self._write() as s:
            s.execute(delete(BestModel))
            rows = [{**row._mapping, "updated_at": _now()} for row in s.execute(source)]
            if rows:
                s.execute(insert(BestModel), rows)
            return len(rows)

    # ------------------------------------------------------------ baselines

    def put_baseline(
        self,
        task_key: str,
        gpu_name: str,
        torch_version: str,
        *,
        eager: TimingStats | None,
        compiled: TimingStats | None,
    ) -> None:
        """Caches reference timings for (task, GPU, torch version), against the task's current source."""
        with self._write() as s:
            task_id = self._task_id(s, task_key)
            sha = s.scalar(select(TaskModel.source_sha256).where(TaskModel.id == task_id)) or ""
            s.execute(
                delete(BaselineModel).where(
                    BaselineModel.task_id == task_id,
                    BaselineModel.gpu_name == gpu_name,
                    BaselineModel.torch_version == torch_version,
                )
            )
            s.execute(
                insert(BaselineModel).values(
                    task_id=task_id,
                    gpu_name=gpu_name,
                    torch_version=torch_version,
                    source_sha256=sha,
                    eager_timing=eager.model_dump(mode="json") if eager else None,
                    compiled_timing=compiled.model_dump(mode="json") if compiled else None,
                    measured_at=_now(),
                )
            )

    # ------------------------------------------------------------ internals

    def _task_id(self, s: Session, key: str) -> int:
        found = s.connection().execute(_TASK_ID, {"key": key}).scalar()
        if found is not None:
            return int(found)
        dialect_insert = self._upsert_insert()
        if dialect_insert is None:
            stmt = insert(TaskModel).values(stub_task_values(key)).returning(TaskModel.id)
            return int(s.execute(stmt).scalar_one())
        # Another process may insert the same key between our SELECT and INSERT; let it win.
        s.execute(dialect_insert(TaskModel).values(stub_task_values(key)).on_conflict_do_nothing())
        return int(s.execute(select(TaskModel.id).where(TaskModel.key == key)).scalar_one())

    def _insert_attempts(self, s: Session, attempts: Sequence[Attempt]) -> list[int]:
        task_ids = {key: self._task_id(s, key) for key in dict.fromkeys(a.task_key for a in attempts)}
        rows = [attempt_values(a, task_ids[a.task_key]) for a in attempts]
        conn = s.connection()
        if len(rows) == 1:
            ids = [int(conn.execute(_INSERT_ATTEMPT, rows[0]).scalar_one())]
        else:
            # executemany needs one set of keys; the optional columns are filled in where any row has them
            keys = {key for row in rows for key in row}
            rows = [{**dict.fromkeys(keys), **row} for row in rows]
            ids = [int(i) for i in conn.execute(_INSERT_ATTEMPTS, rows).scalars()]
        fastest: dict[tuple[int, str], dict[str, Any]] = {}
        for attempt_id, attempt, row in zip(ids, attempts, rows, strict=True):
            if not qualifies_for_best(attempt.verdict):
                continue
            group = (row["task_id"], row["gpu_name"])
            held = fastest.get(group)
            if held is None or row["candidate_median_ms"] < held["candidate_median_ms"]:
                fastest[group] = {
                    "task_id": row["task_id"],
                    "gpu_name": row["gpu_name"],
                    "attempt_id": attempt_id,
                    "candidate_median_ms": row["candidate_median_ms"],
                    "speedup_vs_eager": row["speedup_vs_eager"],
                    "speedup_vs_compiled": row["speedup_vs_compiled"],
                    "updated_at": _now(),
                }
        if fastest:
            self._offer_best(s, list(fastest.values()))
        return ids

    def _offer_best(self, s: Session, offers: list[dict[str, Any]]) -> None:
        """Makes each offer the best of its (task, GPU) unless the holder is as fast or faster."""
        upsert = self._best_upsert()
        if upsert is not None:
            s.connection().execute(upsert, offers)
            return
        for offer in offers:
            self._offer_best_portably(s, offer)

    def _best_upsert(self) -> Executable | None:
        """INSERT .. ON CONFLICT DO UPDATE .. WHERE faster: atomic even between concurrent writers."""
        if self._best_upsert_stmt is None:
            dialect_insert = self._upsert_insert()
            if dialect_insert is None:
                return None
            stmt = dialect_insert(BestModel.__table__)
            self._best_upsert_stmt = stmt.on_conflict_do_update(
                index_elements=["task_id", "gpu_name"],
                set_={c: stmt.excluded[c] for c in _BEST_UPDATED},
                where=BestModel.__table__.c.candidate_median_ms > stmt.excluded.candidate_median_ms,
            )
        return self._best_upsert_stmt

    def _offer_best_portably(self, s: Session, offer: dict[str, Any]) -> None:
        key = (BestModel.task_id == offer["task_id"], BestModel.gpu_name == offer["gpu_name"])
        held = s.scalar(select(BestModel.candidate_median_ms).where(*key).with_for_update())
        if held is None:
            s.execute(insert(BestModel).values(offer))
        elif offer["candidate_median_ms"] < held:
            s.execute(update(BestModel).where(*key).values({c: offer[c] for c in _BEST_UPDATED}))


def _now() -> datetime:
    return datetime.now(UTC)
