"""Small typed rows the store's extra queries return (never ORM objects tied to a session)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from kernelwright.contracts import Attempt, TimingStats


class RunInfo(BaseModel):
    """One run with its totals so far."""

    id: int
    config: dict[str, Any]
    coder_model: str
    judge_model: str
    gpu_name: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    attempts: int = Field(0, description="Attempts recorded for this run.")
    cost_usd: float = Field(0.0, description="Sum of its LLM calls' cost.")
    tokens: int = Field(0, description="Sum of its LLM calls' tokens in and out.")


class StoredAttempt(BaseModel):
    """An attempt together with its store id (parents, metrics and exports refer to it)."""

    id: int
    attempt: Attempt


class BestEntry(BaseModel):
    """The fastest correct attempt of one task on one GPU: one leaderboard row."""

    task_key: str
    task_name: str
    level: int
    gpu_name: str
    attempt_id: int
    run_id: int
    candidate_median_ms: float
    speedup_vs_eager: float | None
    speedup_vs_compiled: float | None
    updated_at: datetime


class Baseline(BaseModel):
    """Cached reference timings of one task on one GPU under one torch version."""

    task_key: str
    gpu_name: str
    torch_version: str
    source_sha256: str = Field(description="The task source the timings were measured on.")
    eager: TimingStats | None
    compiled: TimingStats | None
    measured_at: datetime
