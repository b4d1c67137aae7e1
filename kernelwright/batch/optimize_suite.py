"""The batch wired to the agents: OpenAI clients per task run, the loop config, the config hash.

The evaluator (a per-GPU pool of Sandboxes, a Ray pool, the compile-only static check, or recorded
Verdicts in tests) and the profiler are handed in: this module never picks them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kernelwright.agents.client import OpenAIChatClient
from kernelwright.agents.loop import LoopConfig, optimize_task
from kernelwright.agents.prices import PriceTable
from kernelwright.agents.session import OptimizeSettings, require_complete
from kernelwright.batch.config import BatchConfig
from kernelwright.batch.runner import (
    BatchPlan,
    BatchState,
    ClientFactory,
    LoopRunner,
    ProgressHook,
    run_batch,
)
from kernelwright.contracts import Task
from kernelwright.errors import ConfigError
from kernelwright.interfaces import ChatClient, Evaluator, ProfilerFn


def relevant_settings(settings: OptimizeSettings, batch: BatchConfig, gpu_name: str) -> dict[str, Any]:
    """What changes a task's outcome: models and sampling, the loop's rules and budgets, the GPU or
    the compile-only target. Not: concurrency, which GPUs, Ray, time limits of this invocation."""
    llm = settings.llm.describe()
    for role in ("coder", "judge"):
        llm[role] = {k: v for k, v in llm[role].items() if k in ("model", "temperature", "reasoning_effort")}
    loop = settings.loop.model_dump(exclude={"gpu_facts", "gpu_name", "max_minutes"})
    return {
        "llm": {"coder": llm["coder"], "judge": llm["judge"]},
        "loop": loop,
        "target": f"compile-only:{batch.arch}" if batch.compile_only else gpu_name,
    }


def openai_clients(settings: OptimizeSettings, store: Any) -> ClientFactory:
    """One Coder and one Judge client per task run, logging to the store under that run."""
    prices = PriceTable.load(settings.llm.prices_path)

    def make(run_id: int, llm_limit: asyncio.Semaphore) -> tuple[ChatClient, ChatClient]:
        coder, judge = (
            OpenAIChatClient(
                role,
                getattr(settings.llm, role),
                store=store,
                run_id=run_id,
                prices=prices,
                semaphore=llm_limit,
            )
            for role in ("coder", "judge")
        )
        return coder, judge

    return make


def loop_runner(loop_config: LoopConfig) -> LoopRunner:
    """optimize_task with this batch's loop config; a resumed run's earlier spend counts."""

    async def run(task: Task, *, store: Any, run_id: int, **seams: Any) -> Any:
        spent_usd, spent_tokens = getattr(store, "spent", lambda _id: (0.0, 0))(run_id)
        return await optimize_task(
            task,
            store=store,
            run_id=run_id,
            config=loop_config,
            spent_usd=spent_usd,
            spent_tokens=spent_tokens,
            **seams,
        )

    return run


async def optimize_suite(
    tasks: list[Task],
    settings: OptimizeSettings,
    batch: BatchConfig,
    store: Any,
    *,
    evaluate: Evaluator,
    profile: ProfilerFn | None,
    gpu_name: str,
    workers: int,
    resume_run_id: int | None = None,
    on_progress: ProgressHook | None = None,
    make_clients: ClientFactory | None = None,
) -> BatchState:
    """Runs or resumes a batch of tasks through the agent loop. `evaluate` must be safe to call from
    several threads at once (the pools are); `workers` is how many evaluations run at once."""
    if not tasks:
        raise ConfigError("The batch has no tasks: check the suite folder, --level and --tasks.")
    require_complete(settings.llm)
    loop_config = settings.loop.model_copy(update={"gpu_name": gpu_name, "compile_only": batch.compile_only})
    plan = BatchPlan(
        tasks=tasks,
        relevant=relevant_settings(settings, batch, gpu_name),
        coder_model=settings.llm.coder.model or "",
        judge_model=settings.llm.judge.model or "",
        gpu_name=gpu_name,
        config=batch,
    )
    return await run_batch(
        plan,
        store,
        evaluate=evaluate,
        profile=profile,
        make_clients=make_clients or openai_clients(settings, store),
        loop_runner=loop_runner(loop_config),
        resume_run_id=resume_run_id,
        workers=workers,
        on_progress=on_progress,
    )
