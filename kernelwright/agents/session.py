"""One task's optimization run: run row, LLM clients, the loop, run status, best kernel file.

The CLI (`kernelwright optimize`) calls `run_optimize` with the target and the evaluator and profiler
it wired (agents/wiring.py); this module never picks them itself.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from kernelwright.agents.call_limit import EndpointLimits
from kernelwright.agents.config import LLMConfig
from kernelwright.agents.loop import EventHook, LoopConfig, LoopResult, optimize_task
from kernelwright.agents.prices import PriceTable
from kernelwright.agents.prompt_context import EXAMPLES_KEY, choose_example_ids, prompt_context
from kernelwright.agents.wiring import open_clients
from kernelwright.contracts import Task
from kernelwright.errors import ConfigError
from kernelwright.gpu.target import Target
from kernelwright.interfaces import Evaluator, ProfilerFn, Store


class OptimizeSettings(BaseModel):
    """Everything `kernelwright optimize` decides for one task, apart from its target."""

    model_config = {"extra": "forbid"}

    llm: LLMConfig = Field(default_factory=LLMConfig, description="Coder and Judge endpoints.")
    loop: LoopConfig = Field(default_factory=LoopConfig, description="Rounds, candidates, budgets.")
    out_dir: str = Field("kernelwright-out", description="Where best.py is written, per task.")
    resume_run_id: int | None = Field(None, description="Continue this stored run instead of starting one.")


class RunSummary(BaseModel):
    result: LoopResult
    best_path: str | None = Field(None, description="The best kernel's file, if any candidate was good.")


def require_complete(llm: LLMConfig) -> LLMConfig:
    """`llm` itself when both roles have an endpoint, a key and a model; else ConfigError saying
    what is missing, before any run is created."""
    missing = llm.missing()
    if missing:
        raise ConfigError(
            f"No LLM endpoint is fully configured (missing: {', '.join(missing)}): set OPENAI_BASE_URL and "
            "OPENAI_API_KEY (or --base-url) and a model (--model or KERNELWRIGHT_MODEL)."
        )
    return llm


def _run_config(store: Store, run_id: int) -> dict[str, Any]:
    info = store.run(run_id)
    return info.config if info is not None else {}


def _open_run(task: Task, settings: OptimizeSettings, target: Target, store: Store) -> tuple[int, LoopConfig]:
    """A new run row, or the resumed one (its K is kept: slots are numbered by it)."""
    if settings.resume_run_id is None:
        config = {
            "kind": "optimize",
            "task": task.key,
            "loop": settings.loop.model_dump(),
            "target": target.model_dump(mode="json"),
            "llm": settings.llm.describe(),
            EXAMPLES_KEY: choose_example_ids(task, target, store, settings.loop.prompt_tokens),
        }
        run_id = store.create_run(
            config,
            coder_model=settings.llm.coder.model or "",
            judge_model=settings.llm.judge.model or "",
            gpu_name=target.gpu_name,
        )
        return run_id, settings.loop
    run_id = settings.resume_run_id
    info = store.run(run_id)
    if info is None:
        raise ConfigError(f"There is no run {run_id} in the store to resume.")
    stored_task = info.config.get("task")
    if stored_task != task.key:
        raise ConfigError(f"Run {run_id} optimized {stored_task}, not {task.key}; pass --task {stored_task}.")
    stored_loop = info.config.get("loop", {})
    # Runs stored before the target had its own record kept compile_only among the loop settings.
    stored_compile_only = bool(info.config.get("target", stored_loop).get("compile_only"))
    if stored_compile_only != target.compile_only:
        raise ConfigError(
            f"Run {run_id} was {'' if stored_compile_only else 'not '}compile-only; resume it the same way."
        )
    stored_device = info.config.get("target", {}).get("device", "cuda")
    if stored_device != target.device:
        raise ConfigError(f"Run {run_id} ran on --device {stored_device}; resume it the same way.")
    k = stored_loop.get("candidates", settings.loop.candidates)
    return run_id, settings.loop.model_copy(update={"candidates": k})


async def run_optimize(
    task: Task,
    settings: OptimizeSettings,
    target: Target,
    store: Store,
    evaluate: Evaluator,
    profile: ProfilerFn | None,
    *,
    on_event: EventHook | None = None,
    gpu_lock: asyncio.Semaphore | None = None,
    limits: EndpointLimits | None = None,
) -> RunSummary:
    """Runs or resumes one task; the run row ends with the loop's status ('interrupted' on Ctrl-C).
    `limits`: LLM calls in flight per endpoint (a progress view may watch its queue)."""
    require_complete(settings.llm)
    prices = PriceTable.load(settings.llm.prices_path)
    store.add_task(task)
    run_id, loop_config = _open_run(task, settings, target, store)
    example_ids = _run_config(store, run_id).get(EXAMPLES_KEY, [])
    limit = limits or EndpointLimits(settings.llm.max_concurrency)
    clients = open_clients(settings.llm, store, run_id, prices=prices, limit=limit)
    try:
        result = await optimize_task(
            task,
            coder=clients.coder,
            judge=clients.judge,
            evaluate=evaluate,
            profile=profile,
            store=store,
            run_id=run_id,
            config=loop_config,
            target=target,
            gpu_lock=gpu_lock,
            on_event=on_event,
            context=prompt_context(task, target, store=store, example_ids=example_ids),
        )
    except (KeyboardInterrupt, asyncio.CancelledError):
        store.finish_run(run_id, "interrupted")
        raise
    except BaseException:
        store.finish_run(run_id, "failed")
        raise
    finally:
        await clients.aclose()
    store.finish_run(run_id, result.status)
    return RunSummary(result=result, best_path=_write_best(task, settings, result))


def _write_best(task: Task, settings: OptimizeSettings, result: LoopResult) -> str | None:
    if result.best is None:
        return None
    folder = Path(settings.out_dir) / task.key.replace("/", "_")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "best.py"
    path.write_text(result.best.code)
    return str(path)


def unpriced_models(llm: LLMConfig) -> list[str]:
    """Models the price table does not know: their calls count as $0, so --max-usd cannot stop them."""
    table = PriceTable.load(llm.prices_path)
    models = {llm.coder.model, llm.judge.model} - {None, ""}
    return sorted(m for m in models if m is not None and table.lookup(m) is None)


def price_notes(llm: LLMConfig) -> list[str]:
    """The note `optimize` and `batch` print for each model without a price."""
    return [
        f"note: no price known for model {name}; its calls count as $0 (KERNELWRIGHT_PRICES adds prices)."
        for name in unpriced_models(llm)
    ]
