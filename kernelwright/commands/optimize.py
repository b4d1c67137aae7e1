"""`kernelwright optimize` (one task through the Coder/Judge loop) and `kernelwright show`."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

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
from kernelwright.errors import KernelwrightError, NoGPUError

console = Console()


def register(app: typer.Typer) -> None:
    """Adds `optimize` and `show` to the root app."""
    app.command("optimize")(optimize)
    app.command("show")(show)


def optimize(
    task: Annotated[str, typer.Option("--task", "-t", help="Task file, suite key (level1/19_ReLU) or name.")],
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
    max_minutes: Annotated[float | None, typer.Option(help="Wall-time budget, minutes.")] = None,
    db: DbOption = None,
    compile_only: Annotated[
        bool, typer.Option("--compile-only", help="No GPU: compile and guard candidates on the CPU only.")
    ] = False,
    resume: Annotated[int | None, typer.Option("--resume", help="Continue this run id.")] = None,
    arch: ArchOption = "sm_90",
    out: Annotated[
        str, typer.Option(help="Folder for the best kernel (<out>/<task>/best.py).")
    ] = "kernelwright-out",
    profile: ProfileOption = True,
) -> None:
    """Turn a PyTorch reference into the fastest correct CUDA kernel the agents can find."""
    from kernelwright.agents.config import LLMConfig
    from kernelwright.agents.loop import LoopConfig
    from kernelwright.agents.session import OptimizeSettings, gpu_facts, require_complete, unpriced_models

    gpu = None if compile_only else _gpu_or_fail()
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
    for name in unpriced_models(llm):
        console.print(
            f"note: no price known for model {name}; its calls count as $0 (KERNELWRIGHT_PRICES adds prices)."
        )
    from kernelwright.kernelbench import find_task

    the_task = find_task(task)
    loop = LoopConfig(
        rounds=rounds, candidates=candidates, patience=patience, max_usd=max_usd, max_tokens=max_tokens,
        max_minutes=max_minutes, compile_only=compile_only, gpu_name=gpu.name if gpu else "none",
        gpu_facts=gpu_facts(gpu, arch, compile_only=compile_only),
    )  # fmt: skip
    settings = OptimizeSettings(llm=llm, loop=loop, arch=arch, out_dir=out, resume_run_id=resume)
    _run(the_task, settings, db, with_profiler=profile)


def _gpu_or_fail() -> Any:
    from kernelwright.gpu.nvml import list_gpus
    from kernelwright.sandbox.evaluate import gpu_available

    gpus = list_gpus()
    if not gpus or not gpu_available():
        raise NoGPUError(
            "No usable NVIDIA GPU is visible here, so candidates cannot be run; "
            "use --compile-only to check the endpoint, model and prompts with NVRTC on the CPU."
        )
    return gpus[0]


def _run(task: Any, settings: Any, db: str | None, *, with_profiler: bool = True) -> None:
    from functools import partial

    from kernelwright.agents.progress_view import ProgressView
    from kernelwright.agents.session import run_optimize
    from kernelwright.store import open_store

    store = open_store(db)
    closers: list[Any] = [store]
    if settings.loop.compile_only:
        from kernelwright.sandbox.guard.static_check import static_verdict

        evaluate: Any = partial(_static_evaluator, static_verdict, settings.arch)
        profile = None
    else:
        from kernelwright.profiler.profile import Profiler
        from kernelwright.sandbox.evaluate import Sandbox

        evaluate = Sandbox(store=store)
        profile = Profiler() if with_profiler else None
        closers.insert(0, evaluate)
    view = ProgressView(task.key, settings.loop.rounds, settings.loop.candidates)
    try:
        with Live(view, console=console, refresh_per_second=4, transient=False):
            summary = asyncio.run(
                run_optimize(task, settings, store, evaluate, profile, on_event=view.on_event)
            )
    finally:
        for c in closers:
            c.close()
    _print_summary(summary)


def _static_evaluator(check: Any, arch: str, task: Any, candidate: Any) -> Any:
    return check(task, candidate, arch=arch)


def _print_summary(summary: Any) -> None:
    r = summary.result
    totals = f"{r.attempts} attempts, ${r.cost_usd:.4f}, {r.tokens} tokens"
    if r.status == "failed":
        console.print(f"run {r.run_id}: failed after {totals}.", highlight=False)
        raise KernelwrightError(r.message, exit_code=4)
    console.print(f"run {r.run_id}: {r.status}. {escape(r.message)} ({totals})", highlight=False)
    if r.best is None:
        raise KernelwrightError(
            f"Run {r.run_id} found no correct kernel; `kernelwright show {r.run_id}` lists its attempts.",
            exit_code=1,
        )
    v = r.best.verdict
    speed = f", {v.speedup_vs_eager:.2f}x vs eager" if v.speedup_vs_eager is not None else ""
    console.print(
        f"best: round {r.best.round}, candidate {r.best.candidate_index}{speed}: {summary.best_path}"
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

    store = open_store(db)
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


def _print_history(data: dict[str, Any]) -> None:
    title = f"run {data['run']['id']} ({data['run']['status']})" if "run" in data else f"task {data['task']}"
    table = Table(title=title)
    for col in ("run", "round", "cand", "mode", "status", "speedup", "message"):
        table.add_column(col)
    for a in data["attempts"]:
        speed = f"{a['speedup_vs_eager']:.2f}x" if a["speedup_vs_eager"] is not None else ""
        table.add_row(str(a["run_id"]), str(a["round"]), str(a["candidate"]), a["mode"], a["status"], speed,
                      escape((a["message"] or "")[:100]))  # fmt: skip
    console.print(table)
    llm = data["llm"]
    console.print(
        f"LLM: {llm['calls']} calls, {llm['tokens']} tokens, ${llm['cost_usd']:.4f}", highlight=False
    )
