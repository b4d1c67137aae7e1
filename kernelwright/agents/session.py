"""One task's optimization run, wired: run row, LLM clients, the loop, run status, best kernel file.

The CLI (`kernelwright optimize`) and batch call `run_optimize` with the evaluator and profiler they
chose (the GPU sandbox, or the compile-only static check); this module never picks them itself.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import BaseModel, Field

from kernelwright.agents.client import OpenAIChatClient
from kernelwright.agents.config import LLMConfig
from kernelwright.agents.loop import EventHook, LoopConfig, LoopResult, optimize_task
from kernelwright.agents.prices import PriceTable
from kernelwright.contracts import GPUIdentity, Task
from kernelwright.errors import ConfigError
from kernelwright.interfaces import Evaluator, ProfilerFn, Store


class OptimizeSettings(BaseModel):
    """Everything `kernelwright optimize` decides for one task."""

    model_config = {"extra": "forbid"}

    llm: LLMConfig = Field(default_factory=LLMConfig, description="Coder and Judge endpoints.")
    loop: LoopConfig = Field(default_factory=LoopConfig, description="Rounds, candidates, budgets.")
    arch: str = Field("sm_90", description="Target architecture for compile-only checks.")
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


def gpu_facts(gpu: GPUIdentity | None, arch: str, *, compile_only: bool) -> str:
    """The target-GPU paragraph of the prompts."""
    if compile_only or gpu is None:
        return f"Compile-only check: no GPU is attached; kernels are compiled for {arch} with NVRTC."
    facts = [f"{gpu.name}"]
    if gpu.compute_capability:
        facts.append(f"compute capability {gpu.compute_capability}")
    if gpu.sm_count:
        facts.append(f"{gpu.sm_count} SMs")
    if gpu.memory_mib:
        facts.append(f"{gpu.memory_mib // 1024} GiB memory")
    try:
        from kernelwright.gpu.specs import lookup_spec

        spec = lookup_spec(gpu.name)
    except Exception:  # the spec table is a nicety for the prompt, never a reason to fail the run
        spec = None
    if spec is not None:
        facts.append(f"peak DRAM bandwidth {spec.dram_bandwidth_gbs:g} GB/s")
        if spec.fp32_tflops:
            facts.append(f"peak FP32 {spec.fp32_tflops:g} TFLOP/s")
        if spec.l2_mib:
            facts.append(f"L2 {spec.l2_mib:g} MiB")
    return ", ".join(facts) + "."


def _open_run(task: Task, settings: OptimizeSettings, store: Store, gpu_name: str) -> tuple[int, LoopConfig]:
    """A new run row, or the resumed one (its K is kept: slots are numbered by it)."""
    if settings.resume_run_id is None:
        config = {
            "kind": "optimize",
            "task": task.key,
            "arch": settings.arch,
            "loop": settings.loop.model_dump(exclude={"gpu_facts"}),
            "llm": settings.llm.describe(),
        }
        run_id = store.create_run(
            config,
            coder_model=settings.llm.coder.model or "",
            judge_model=settings.llm.judge.model or "",
            gpu_name=gpu_name,
        )
        return run_id, settings.loop
    run_id = settings.resume_run_id
    info = getattr(store, "run", lambda _id: None)(run_id)
    if info is None:
        raise ConfigError(f"There is no run {run_id} in the store to resume.")
    stored_task = info.config.get("task")
    if stored_task != task.key:
        raise ConfigError(f"Run {run_id} optimized {stored_task}, not {task.key}; pass --task {stored_task}.")
    stored_loop = info.config.get("loop", {})
    if bool(stored_loop.get("compile_only")) != settings.loop.compile_only:
        raise ConfigError(
            f"Run {run_id} was {'' if stored_loop.get('compile_only') else 'not '}compile-only; resume it the same way."
        )
    k = stored_loop.get("candidates", settings.loop.candidates)
    return run_id, settings.loop.model_copy(update={"candidates": k})


async def run_optimize(
    task: Task,
    settings: OptimizeSettings,
    store: Store,
    evaluate: Evaluator,
    profile: ProfilerFn | None,
    *,
    on_event: EventHook | None = None,
    gpu_lock: asyncio.Semaphore | None = None,
) -> RunSummary:
    """Runs or resumes one task; the run row ends with the loop's status ('interrupted' on Ctrl-C)."""
    require_complete(settings.llm)
    prices = PriceTable.load(settings.llm.prices_path)
    store.add_task(task)
    run_id, loop_config = _open_run(task, settings, store, settings.loop.gpu_name)
    spent_usd, spent_tokens = getattr(store, "spent", lambda _id: (0.0, 0))(run_id)
    limit = asyncio.Semaphore(settings.llm.max_concurrency)
    clients = [
        OpenAIChatClient(
            role, getattr(settings.llm, role), store=store, run_id=run_id, prices=prices, semaphore=limit
        )
        for role in ("coder", "judge")
    ]
    try:
        result = await optimize_task(
            task,
            coder=clients[0],
            judge=clients[1],
            evaluate=evaluate,
            profile=profile,
            store=store,
            run_id=run_id,
            config=loop_config,
            gpu_lock=gpu_lock,
            on_event=on_event,
            spent_usd=spent_usd,
            spent_tokens=spent_tokens,
        )
    except (KeyboardInterrupt, asyncio.CancelledError):
        store.finish_run(run_id, "interrupted")
        raise
    except BaseException:
        store.finish_run(run_id, "failed")
        raise
    finally:
        for client in clients:
            await client.aclose()
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
