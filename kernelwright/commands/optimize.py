"""`kernelwright optimize` (one task through the Coder/Judge loop) and `kernelwright show`."""

from __future__ import annotations

import asyncio
import json
import textwrap
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kernelwright.agents.run_options import RunOptions
from kernelwright.commands.live import live_view
from kernelwright.commands.options import DbOption, choose_target, task_for_target, with_run_options
from kernelwright.commands.paths import writable_folder
from kernelwright.contracts import Task
from kernelwright.errors import KernelwrightError
from kernelwright.gpu.target import Target

if TYPE_CHECKING:
    from kernelwright.agents.session import OptimizeSettings, RunSummary

console = Console()


def register(app: typer.Typer) -> None:
    """Adds `optimize` and `show` to the root app."""
    app.command("optimize")(optimize)
    app.command("show")(show)


@with_run_options
def optimize(
    task: Annotated[str, typer.Option("--task", "-t", help="Task file, suite key (level1/19_ReLU) or name.")],
    options: RunOptions,
    db: DbOption = None,
    resume: Annotated[int | None, typer.Option("--resume", help="Continue this run id.")] = None,
    out: Annotated[
        str, typer.Option(help="Folder for the best kernel (<out>/<task>/best.py).")
    ] = "kernelwright-out",
) -> None:
    """Turn a PyTorch reference into the fastest correct CUDA kernel the agents can find."""
    from kernelwright.agents.session import OptimizeSettings, price_notes, require_complete
    from kernelwright.kernelbench import find_task

    # Everything a user can get wrong is checked before the price note and the first LLM call.
    the_task = find_task(task)
    writable_folder(out, "--out")
    target = choose_target(
        options,
        command="optimize",
        instead="use --compile-only to check the endpoint, model and prompts with NVRTC on the CPU, or "
        "--device cpu --allow-torch to run the whole loop on the CPU",
    )
    the_task = task_for_target(the_task, target)
    llm = require_complete(options.llm())
    for line in price_notes(llm):
        console.print(line, highlight=False)
    settings = OptimizeSettings(llm=llm, loop=options.loop(), out_dir=out, resume_run_id=resume)
    _run(the_task, settings, target, db, with_profiler=options.profile, loader=options.loader)


def _run(
    task: Task,
    settings: OptimizeSettings,
    target: Target,
    db: str | None,
    *,
    with_profiler: bool,
    loader: str = "cuda-python",
) -> None:
    from kernelwright.agents.call_limit import EndpointLimits
    from kernelwright.agents.progress_view import ProgressView
    from kernelwright.agents.session import run_optimize
    from kernelwright.agents.wiring import evaluator_for, profiler_for
    from kernelwright.store import open_store

    store = open_store(db)
    try:
        evaluate = evaluator_for(target, store=store, loader=loader)
        on_gpu = not target.compile_only and target.device == "cuda"
        profile = profiler_for() if with_profiler and on_gpu else None
        limits = EndpointLimits(settings.llm.max_concurrency)
        view = ProgressView(
            task.key,
            settings.loop.rounds,
            settings.loop.candidates,
            compile_only=target.compile_only,
            limits=limits,
        )
        try:
            with live_view(view, console, refresh_per_second=4):
                summary = asyncio.run(
                    run_optimize(
                        task,
                        settings,
                        target,
                        store,
                        evaluate,
                        profile,
                        on_event=view.on_event,
                        limits=limits,
                    )
                )
        finally:
            evaluate.close()
    finally:
        store.close()
    _print_summary(summary, compile_only=target.compile_only)


def _print_summary(summary: RunSummary, *, compile_only: bool) -> None:
    r = summary.result
    totals = f"{r.attempts} attempts, ${r.cost_usd:.4f}, {r.tokens} tokens"
    if r.status == "failed":
        console.print(f"run {r.run_id}: failed after {totals}.", highlight=False)
        raise KernelwrightError(r.message, exit_code=4)
    console.print(f"run {r.run_id}: {r.status}. {escape(r.message)} ({totals})", highlight=False)
    if r.best is None:
        # compile-only never runs a kernel, so it cannot say whether one is correct
        found = "compiled no kernel" if compile_only else "found no correct kernel"
        raise KernelwrightError(
            f"Run {r.run_id} {found}; `kernelwright show {r.run_id}` lists its attempts.", exit_code=1
        )
    v = r.best.verdict
    speed = f", {v.speedup_vs_eager:.2f}x vs eager" if v.speedup_vs_eager is not None else ""
    what = "compiled" if compile_only else "best"
    console.print(
        f"{what}: round {r.best.round}, candidate {r.best.candidate_index}{speed}: {summary.best_path}"
    )
    for res in v.resources:
        spills = res.spill_stores_bytes + res.spill_loads_bytes
        console.print(
            f"  {res.name} ({res.arch}): {res.registers_per_thread} registers/thread, {spills} B spilled, "
            f"{res.shared_bytes} B static shared memory",
            highlight=False,
        )


def show(
    ref: Annotated[str, typer.Argument(help="A run id, or a task (key, name or file).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    db: DbOption = None,
) -> None:
    """Attempt history of a run or a task (round, candidate, mode, status, speedup), and LLM cost."""
    from kernelwright.agents.history import run_history, task_history
    from kernelwright.store import open_store

    store = open_store(db, create=False)
    try:
        data = run_history(store, int(ref)) if ref.isdigit() else task_history(store, _task_key(ref))
    finally:
        store.close()
    if as_json:
        typer.echo(json.dumps(data, indent=1))
        return
    _print_history(data)


def _task_key(ref: str) -> str:
    from kernelwright.kernelbench import find_task

    try:
        return find_task(ref).key
    except KernelwrightError:
        if "/" in ref:
            return ref  # a stored key whose file is not at hand
        raise


def headline(message: str | None, width: int = 160) -> str:
    """A stored message's first line, shortened at a word boundary (never mid-word) to `width`."""
    first = (message or "").strip().split("\n", 1)[0]
    if len(first) <= width:
        return first
    short = textwrap.shorten(first, width, placeholder=" …")
    return short if short != "…" else first[: width - 1] + "…"  # one word longer than `width`


def _print_history(data: dict[str, Any]) -> None:
    title = f"run {data['run']['id']} ({data['run']['status']})" if "run" in data else f"task {data['task']}"
    table = Table(title=title)
    for col in ("run", "round", "cand", "mode", "status", "speedup"):
        table.add_column(col, no_wrap=True)
    table.add_column("message", overflow="fold")  # wraps between words; never cut to '…' by the width
    for a in data["attempts"]:
        speed = f"{a['speedup_vs_eager']:.2f}x" if a["speedup_vs_eager"] is not None else ""
        table.add_row(str(a["run_id"]), str(a["round"]), str(a["candidate"]), a["mode"], a["status"], speed,
                      escape(headline(a["message"])))  # fmt: skip
    console.print(table)
    llm = data["llm"]
    console.print(
        f"LLM: {llm['calls']} calls, {llm['tokens']} tokens, ${llm['cost_usd']:.4f}", highlight=False
    )
