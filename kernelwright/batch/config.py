"""Batch settings, and the hash that decides whether a task is already done for "the same run"."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, Field


class BatchConfig(BaseModel):
    """How a batch spreads work; none of these change results, so none enter the config hash."""

    model_config = {"extra": "forbid"}

    gpus: str = Field("all", description="'all' or comma-separated device indices, e.g. '0,1'.")
    llm_concurrency: int = Field(4, ge=1, description="LLM calls in flight at once, over all tasks.")
    tasks_in_flight: int | None = Field(
        None,
        ge=1,
        description="Tasks whose agent loops run at once; default: LLM concurrency + 2 per GPU worker, "
        "so that GPUs have candidates queued while agents think.",
    )
    compile_only: bool = Field(False, description="Guard and compile on the CPU (static_verdict), no GPU.")
    ray_address: str | None = Field(
        None, description="Ray cluster address; each evaluation a num_gpus=1 task."
    )
    arch: str = Field("sm_90", description="Target architecture for --compile-only.")

    def tasks_at_once(self, workers: int) -> int:
        return self.tasks_in_flight or self.llm_concurrency + 2 * max(workers, 1)


def config_hash(relevant: dict[str, Any]) -> str:
    """A stable digest of the settings that change a task's outcome (models, rounds, limits, mode).

    Keys must be JSON-safe; API keys must never be in here (RoleConfig.describe() hides them)."""
    text = json.dumps(relevant, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def parse_gpus(spec: str, available: int) -> list[int]:
    """'all' -> every visible index; '0,2' -> those (each must exist)."""
    from kernelwright.errors import ConfigError

    if spec.strip().lower() == "all":
        return list(range(available))
    try:
        wanted = [int(part) for part in spec.split(",") if part.strip()]
    except ValueError as err:
        raise ConfigError(f"--gpus takes 'all' or indices like '0,1', not {spec!r}.") from err
    bad = [i for i in wanted if not 0 <= i < available]
    if bad or not wanted:
        raise ConfigError(f"--gpus {spec!r} names GPUs this machine does not have (it has {available}).")
    return sorted(set(wanted))
