"""Batch settings, and the hash that decides whether a task is already done for "the same run"."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, Field


class BatchConfig(BaseModel):
    """How a batch spreads work; none of these change results, so none enter the config hash. Where
    candidates are judged (GPUs, a Ray cluster, compile-only) is the batch's gpu.target.Target."""

    model_config = {"extra": "forbid"}

    llm_concurrency: int = Field(
        4, ge=1, description="LLM calls in flight at once per endpoint, over all tasks."
    )
    tasks_in_flight: int | None = Field(
        None,
        ge=1,
        description="Tasks whose agent loops run at once; default: LLM concurrency + 2 per GPU worker, "
        "so that GPUs have candidates queued while agents think.",
    )

    def tasks_at_once(self, workers: int) -> int:
        return self.tasks_in_flight or self.llm_concurrency + 2 * max(workers, 1)


def config_hash(relevant: dict[str, Any]) -> str:
    """A stable digest of the settings that change a task's outcome (models, rounds, limits, mode).

    Keys must be JSON-safe; API keys must never be in here (RoleConfig.describe() hides them)."""
    text = json.dumps(relevant, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
