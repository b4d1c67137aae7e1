"""`kernelwright batch`: a suite through the agents on every GPU of this machine or a Ray cluster."""

from __future__ import annotations

import asyncio
import fnmatch
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live

from kernelwright.commands.options import (
    ArchOption,
    BaseUrlOption,
    CandidatesOption,
    CoderModelOption,
    DbOption,
    JudgeModelOption,
    MaxTokensOption,
    MaxUsdOption,
    ModelOption,
    PatienceOption,
    ProfileOption,
    ReasoningEffortOption,
    RoundsOption,
    TemperatureOption,
)
from kernelwright.errors import ConfigError, KernelwrightError, NoGPUError

console = Console()


def register(app: typer.Typer) -> None:
    """Adds `batch` to the root app."""
    app.command("batch")(batch)


def batch(
    suite: Annotated[
        str, typer.Argument(help="'bundled' (the suite shipped with kernelwright) or a suite folder.")
    ],
    level: Annotated[int | None, typer.Option(help="Only this level.")] = None,
    tasks: Annotated[
        str | None, typer.Option("--tasks", help="Only task keys matching this glob, e.g. '*ReLU*'.")
    ] = None,
    gpus: Annotated[str, typer.Option(help="'all' or GPU indices like '0,1'.")] = "all",
    llm_concurrency: Annotated[
        int, typer.Option(min=1, help="LLM calls in flight at once, over all tasks.")
    ] = 4,
    resume: Annotated[int | None, typer.Option("--resume", help="Continue this batch run id.")] = None,
    compile_only: Annotated[
        bool, typer.Option("--compile-only", help="No GPU: guard and compile on the CPU.")
    ] = False,
    ray: Annotated[
        str | None, typer.Option("--ray", help="Ray cluster address ('auto', 'ray://host:10001').")
    ] = None,
    db: DbOption = None,
    model: ModelOption = None,
    coder_model: CoderModelOption = None,
    judge_model: JudgeModelOption = None,
    base_url: BaseUrlOption = None,
    temperature: TemperatureOption = None,
    reasoning_effort: ReasoningEffortOption = None,
    rounds: RoundsOption = 10,
    candidates: CandidatesOption = 2,
    patience: PatienceOption = 4,
    max_usd: MaxUsdOption = None,
    max_tokens: MaxTokensOption = None,
    arch: ArchOption = "sm_90",
    profile: ProfileOption = True,
) -> None:
    """Optimize a whole suite: one evaluation worker per GPU, LLM calls of all tasks in parallel."""
    from kernelwright.agents.config import LLMConfig
    from kernelwright.agents.loop import LoopConfig
    from kernelwright.agents.session import OptimizeSettings, require_complete
    from kernelwright.batch.config import BatchConfig

    if compile_only and ray:
        raise ConfigError("--compile-only runs on this machine's CPU; it cannot be combined with --ray.")
    llm = require_complete(
        LLMConfig.from_env(
            model=model,
            coder_model=coder_model,
            judge_model=judge_model,
            base_url=base_url,
            temperature=temperature,
            reasoning_effort=reasoning_effort,
        )  # fmt: skip
    )
    loop = LoopConfig(
        rounds=rounds, candidates=candidates, patience=patience, max_usd=max_usd, max_tokens=max_tokens
    )
    settings = OptimizeSettings(llm=llm, loop=loop, arch=arch)
    config = BatchConfig(
        gpus=gpus, llm_concurrency=llm_concurrency, compile_only=compile_only, ray_address=ray, arch=arch
    )
    the_tasks = _select_tasks(suite, level, tasks)
    _run(the_tasks, settings, config, db=db, resume=resume, with_profiler=profile)


def _select_tasks(suite: str, level: int | None, pattern: str | None) -> list[Any]:
    from kernelwright.kernelbench.suite import load_suite

    listing = load_suite(None if suite == "bundled" else suite, level)
    for line in listing.errors:
        console.print(f"[yellow]skipped a task file:[/] {line}", highlight=False)
    chosen = [
        t
        for t in listing.tasks
        if pattern is None or fnmatch.fnmatch(t.key, pattern) or fnmatch.fnmatch(t.name, pattern)
    ]
    if not chosen:
        raise ConfigError(f"No task in {listing.root} matches level {level} and --tasks {pattern!r}.")
    return chosen


def _evaluators(config: Any, store: Any, with_profiler: bool) -> tuple[Any, Any, str, str, int]:
    """(pool, profiler, GPU name for the record, GPU facts for the prompts, workers)."""
    from kernelwright.agents.session import gpu_facts
    from kernelwright.batch import evaluators

    if config.compile_only:
        pool = evaluators.compile_only_pool(config.arch)
        return pool, None, "none", gpu_facts(None, config.arch, compile_only=True), pool.stats.workers
    if config.ray_address:
        pool = evaluators.ray_pool(config.ray_address)
        facts = "A GPU of the Ray cluster (the node is chosen per evaluation)."
        return pool, None, f"ray:{config.ray_address}", facts, pool.stats.workers
    from kernelwright.batch.config import parse_gpus
    from kernelwright.gpu.nvml import list_gpus
    from kernelwright.sandbox.evaluate import gpu_available

    found = list_gpus()
    if not found or not gpu_available():
        raise NoGPUError(
            "No usable NVIDIA GPU is visible here; use --compile-only, or --ray ADDRESS for a cluster."
        )
    indices = parse_gpus(config.gpus, len(found))
    names = {found[i].name for i in indices}
    if len(names) > 1:
        raise ConfigError(
            f"--gpus {config.gpus} mixes GPU models ({', '.join(sorted(names))}); batch one model at a time."
        )
    pool = evaluators.local_gpu_pool(indices, store=store, with_profiler=with_profiler)
    profiler = pool.profile if with_profiler else None
    return (
        pool,
        profiler,
        found[indices[0]].name,
        gpu_facts(found[indices[0]], config.arch, compile_only=False),
        len(indices),
    )


def _run(
    tasks: list[Any], settings: Any, config: Any, *, db: str | None, resume: int | None, with_profiler: bool
) -> None:
    from kernelwright.batch.evaluators import close_local_pool
    from kernelwright.batch.optimize_suite import optimize_suite
    from kernelwright.batch.progress import BatchView, outcome_table, summary_lines
    from kernelwright.store import open_store

    store = open_store(db)
    try:
        pool, profiler, gpu_name, facts, workers = _evaluators(config, store, with_profiler)
        settings.loop.gpu_facts = facts
        state_ref: dict[str, Any] = {}
        try:
            with Live(BatchView(state_ref, len(tasks), pool), console=console, refresh_per_second=2):
                state = asyncio.run(
                    optimize_suite(
                        tasks, settings, config, store, evaluate=pool, profile=profiler, gpu_name=gpu_name,
                        workers=workers, resume_run_id=resume, on_progress=lambda s: state_ref.update(state=s),
                    )
                )  # fmt: skip
        finally:
            close_local_pool(pool) if hasattr(pool, "owned") else pool.close()
    finally:
        store.close()
    console.print(outcome_table(state.outcomes, f"batch run {state.batch_run_id}"))
    for line in summary_lines(state):
        console.print(line, highlight=False)
    if any(o.status == "failed" for o in state.outcomes):
        raise KernelwrightError(
            f"Some tasks failed; `kernelwright batch ... --resume {state.batch_run_id}` retries them.",
            exit_code=1,
        )
