"""`kernelwright batch`: a suite through the agents on every GPU of this machine or a Ray cluster."""

from __future__ import annotations

import asyncio
import fnmatch
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from kernelwright.agents.run_options import RunOptions
from kernelwright.commands.live import live_view
from kernelwright.commands.options import DbOption, choose_target, task_for_target, with_run_options
from kernelwright.contracts import Task
from kernelwright.errors import ConfigError, KernelwrightError
from kernelwright.gpu.target import Target

if TYPE_CHECKING:
    from kernelwright.agents.session import OptimizeSettings
    from kernelwright.batch.config import BatchConfig

console = Console()


def register(app: typer.Typer) -> None:
    """Adds `batch` to the root app."""
    app.command("batch")(batch)


@with_run_options
def batch(
    suite: Annotated[
        str, typer.Argument(help="'bundled' (the suite shipped with kernelwright) or a suite folder.")
    ],
    options: RunOptions,
    level: Annotated[int | None, typer.Option(help="Only this level.")] = None,
    tasks: Annotated[
        str | None, typer.Option("--tasks", help="Only task keys matching this glob, e.g. '*ReLU*'.")
    ] = None,
    gpus: Annotated[str, typer.Option(help="'all' or GPU indices like '0,1'.")] = "all",
    resume: Annotated[int | None, typer.Option("--resume", help="Continue this batch run id.")] = None,
    ray: Annotated[
        str | None, typer.Option("--ray", help="Ray cluster address ('auto', 'ray://host:10001').")
    ] = None,
    db: DbOption = None,
) -> None:
    """Optimize a whole suite: one evaluation worker per GPU, LLM calls of all tasks in parallel."""
    from kernelwright.agents.session import OptimizeSettings, price_notes, require_complete
    from kernelwright.batch.config import BatchConfig

    if options.compile_only and ray:
        raise ConfigError("--compile-only runs on this machine's CPU; it cannot be combined with --ray.")
    settings = OptimizeSettings(llm=require_complete(options.llm()), loop=options.loop())
    config = BatchConfig(llm_concurrency=settings.llm.max_concurrency)
    the_tasks = _select_tasks(suite, level, tasks)
    target = choose_target(
        options,
        command="batch",
        instead="use --compile-only, --device cpu --allow-torch, or --ray ADDRESS for a cluster",
        gpus=gpus,
        ray=ray,
    )
    the_tasks = [task_for_target(t, target) for t in the_tasks]
    for line in price_notes(settings.llm):
        console.print(line, highlight=False)
    _run(
        the_tasks,
        settings,
        config,
        target,
        db=db,
        resume=resume,
        with_profiler=options.profile,
        loader=options.loader,
    )


def _select_tasks(suite: str, level: int | None, pattern: str | None) -> list[Task]:
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


def _run(
    tasks: list[Task],
    settings: OptimizeSettings,
    config: BatchConfig,
    target: Target,
    *,
    db: str | None,
    resume: int | None,
    with_profiler: bool,
    loader: str = "cuda-python",
) -> None:
    from kernelwright.batch.evaluators import open_pool
    from kernelwright.batch.optimize_suite import optimize_suite
    from kernelwright.batch.progress import BatchView, outcome_table, summary_lines
    from kernelwright.batch.runner import BatchState
    from kernelwright.store import open_store

    store = open_store(db)
    try:
        judging = open_pool(target, store, with_profiler=with_profiler, loader=loader)
        state_ref: dict[str, BatchState] = {}
        try:
            with live_view(BatchView(state_ref, len(tasks), judging.pool), console, refresh_per_second=2):
                state = asyncio.run(
                    optimize_suite(
                        tasks, settings, config, target, store, evaluate=judging.pool, profile=judging.profile,
                        workers=judging.workers, resume_run_id=resume, on_progress=lambda s: state_ref.update(state=s),
                    )
                )  # fmt: skip
        finally:
            judging.close()
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
