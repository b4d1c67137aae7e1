"""What a batch runs, decided before it starts: the tasks, the agents' settings, the target and how
the work is spread; and the hash of what changes a task's outcome, by which resume finds done tasks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from kernelwright.agents.session import OptimizeSettings
from kernelwright.batch.config import BatchConfig, config_hash
from kernelwright.contracts import Task
from kernelwright.gpu.target import Target


@dataclass(frozen=True)
class BatchPlan:
    tasks: Sequence[Task]
    settings: OptimizeSettings
    target: Target
    config: BatchConfig

    @property
    def coder_model(self) -> str:
        return self.settings.llm.coder.model or ""

    @property
    def judge_model(self) -> str:
        return self.settings.llm.judge.model or ""

    @cached_property
    def relevant(self) -> dict[str, Any]:
        """What changes a task's outcome: models and sampling, the loop's rules and budgets, the GPU
        or the compile-only target. Not: concurrency, which GPUs, Ray, time limits of this invocation."""
        llm = self.settings.llm.describe()
        kept = ("model", "temperature", "reasoning_effort")
        roles = {role: {k: v for k, v in llm[role].items() if k in kept} for role in ("coder", "judge")}
        # compile_only stays among the loop settings, where it was before the target had its own
        # record, so that batches started then still resume under the same hash.
        loop = {
            **self.settings.loop.model_dump(exclude={"max_minutes"}),
            "compile_only": self.target.compile_only,
        }
        # Limits added later count only when set, so that batches started before them still resume.
        for added in ("max_output_tokens", "prompt_tokens"):
            if loop[added] is None:
                del loop[added]
        target = self.target
        return {
            "llm": roles,
            "loop": loop,
            "target": f"compile-only:{target.arch}" if target.compile_only else target.gpu_name,
        }

    @property
    def hash(self) -> str:
        return config_hash(self.relevant)
