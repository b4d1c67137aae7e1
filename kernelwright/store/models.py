"""SQLAlchemy 2.0 models of the store: runs, tasks, attempts, llm_calls, metrics, best, baselines.

The schema itself is created by the Alembic revisions in `migrations/versions/` (append-only); these
models must describe exactly what those revisions build, which tests/store checks by diffing the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, Integer, MetaData, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

# JSONB on PostgreSQL so JSON columns can be indexed or queried later; plain JSON text elsewhere.
JSONType = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite has no timezone support and would silently drop tzinfo, so values are stored there as naive
    UTC and given back as aware UTC; readers never see a naive datetime."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


# Deterministic constraint names, identical on every backend, so later revisions can name what
# they alter (SQLite's batch mode needs names to drop or recreate constraints).
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_name)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dict[str, Any]: JSONType, datetime: UTCDateTime}


class RunModel(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSONType)
    coder_model: Mapped[str] = mapped_column(String(255))
    judge_model: Mapped[str] = mapped_column(String(255))
    gpu_name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class TaskModel(Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    level: Mapped[int] = mapped_column(Integer)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    path: Mapped[str] = mapped_column(Text)
    source: Mapped[str] = mapped_column(Text)
    # Empty while the task is only known by its key (an attempt arrived before add_task).
    source_sha256: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(Text)
    # inputs, init_args, param_count, tolerances, flops: the rest of the Task record.
    spec: Mapped[dict[str, Any]] = mapped_column(JSONType)


class AttemptModel(Base):
    __tablename__ = "attempts"
    __table_args__ = (
        # Best-per-(task, GPU) recomputation and leaderboard scans read only this index.
        Index("ix_attempts_task_gpu_status_median", "task_id", "gpu_name", "status", "candidate_median_ms"),
        # Resume and per-run listings: attempts of one run and task, by round (revision 0002).
        Index("ix_attempts_run_task_round", "run_id", "task_id", "round"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"))
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"))
    round: Mapped[int] = mapped_column(Integer)
    candidate_index: Mapped[int] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    parent_attempt_id: Mapped[int | None] = mapped_column(ForeignKey("attempts.id"), nullable=True)
    code: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text)
    verdict: Mapped[dict[str, Any]] = mapped_column(JSONType)
    profile: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    speedup_vs_eager: Mapped[float | None] = mapped_column(Float, nullable=True)
    speedup_vs_compiled: Mapped[float | None] = mapped_column(Float, nullable=True)
    candidate_median_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    gpu_name: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # What the attempt tried and the advice it followed (revision 0004): the loop's memory.
    idea: Mapped[str | None] = mapped_column(Text, nullable=True)
    analysis: Mapped[str | None] = mapped_column(Text, nullable=True)


class LLMCallModel(Base):
    __tablename__ = "llm_calls"
    __table_args__ = (Index("ix_llm_calls_run", "run_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"), nullable=True)
    role: Mapped[str] = mapped_column(String(16))
    model: Mapped[str] = mapped_column(String(255))
    prompt: Mapped[str] = mapped_column(Text)
    response: Mapped[str | None] = mapped_column(Text, nullable=True)
    tokens_in: Mapped[int] = mapped_column(Integer)
    tokens_out: Mapped[int] = mapped_column(Integer)
    latency_s: Mapped[float] = mapped_column(Float)
    cost_usd: Mapped[float] = mapped_column(Float)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finish_reason: Mapped[str | None] = mapped_column(String(32), nullable=True)


class MetricModel(Base):
    __tablename__ = "metrics"
    __table_args__ = (Index("ix_metrics_attempt", "attempt_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"))
    source: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(255))
    value: Mapped[float] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(64))
    kernel: Mapped[str | None] = mapped_column(String(255), nullable=True)


class BestModel(Base):
    """The fastest attempt with status 'ok' and a measured time, per (task, GPU); kept up to date by
    the same transaction that inserts the attempt, so the leaderboard is a primary-key read."""

    __tablename__ = "best"
    __table_args__ = (Index("ix_best_gpu", "gpu_name"),)

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    gpu_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id"))
    candidate_median_ms: Mapped[float] = mapped_column(Float)
    speedup_vs_eager: Mapped[float | None] = mapped_column(Float, nullable=True)
    speedup_vs_compiled: Mapped[float | None] = mapped_column(Float, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class BaselineModel(Base):
    """Cached eager / torch.compile timings (revision 0002); valid only for the task source they
    were measured on, hence the stored hash."""

    __tablename__ = "baselines"

    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id"), primary_key=True)
    gpu_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    torch_version: Mapped[str] = mapped_column(String(64), primary_key=True)
    source_sha256: Mapped[str] = mapped_column(String(64))
    eager_timing: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    compiled_timing: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime)
