"""`kernelwright leaderboard`, `report`, `export` and `reeval`: reading the store back out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from kernelwright.commands.options import DbOption
from kernelwright.commands.paths import writable_file, writable_folder
from kernelwright.contracts import Verdict
from kernelwright.errors import ConfigError

console = Console()


def leaderboard(
    gpu: Annotated[str | None, typer.Option("--gpu", help="Only this GPU name (exact, as stored).")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Only this Coder model.")] = None,
    level: Annotated[int | None, typer.Option("--level", help="Only this KernelBench level.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="Print CSV instead of tables.")] = False,
    db: DbOption = None,
) -> None:
    """Best kernel per task, and correctness, geomean speedup and fast_p per level, GPU and model."""
    from kernelwright.report.build import leaderboard_from_engine
    from kernelwright.report.facts import FactFilter
    from kernelwright.report.tables import summary_tables, task_tables, to_csv, to_json
    from kernelwright.store import open_store

    if as_json and as_csv:
        raise ConfigError("Pick one of --json and --csv.")
    store = open_store(db, create=False)
    try:
        board = leaderboard_from_engine(store.engine, FactFilter(gpu_name=gpu, model=model, level=level))
    finally:
        store.close()
    if as_json:
        typer.echo(to_json(board))
    elif as_csv:
        typer.echo(to_csv(board), nl=False)
    elif not board.tasks:
        console.print("No measured attempts in this store match (compile-only attempts are not ranked).")
    else:
        for table in (*task_tables(board.tasks), *summary_tables(board.summary)):
            console.print(table)


def report(
    html: Annotated[Path, typer.Option("--html", help="Where to write the self-contained HTML report.")],
    gpu: Annotated[str | None, typer.Option("--gpu", help="Only this GPU name.")] = None,
    model: Annotated[str | None, typer.Option("--model", help="Only this Coder model.")] = None,
    level: Annotated[int | None, typer.Option("--level", help="Only this level.")] = None,
    db: DbOption = None,
) -> None:
    """One HTML file (opens offline): speedups, fast_p curve, per-level geomeans, rounds, cost and time."""
    from kernelwright.report.build import write_html_report
    from kernelwright.report.facts import FactFilter
    from kernelwright.store import open_store

    writable_file(html, "--html")
    store = open_store(db, create=False)
    try:
        board = write_html_report(
            store.engine,
            html,
            source=store.shown_url,
            where=FactFilter(gpu_name=gpu, model=model, level=level),
        )
    finally:
        store.close()
    console.print(f"Wrote {html} ({len(board.tasks)} task results).")


def export(
    task: Annotated[str, typer.Option("--task", help="Task key ('level1/19_ReLU') or name ('19_ReLU').")],
    out: Annotated[Path, typer.Option("-o", "--out", help="Folder to write the standalone module into.")],
    gpu: Annotated[
        str | None, typer.Option("--gpu", help="Best on this GPU (default: the fastest anywhere).")
    ] = None,
    as_: Annotated[
        str,
        typer.Option(
            "--as",
            help="files (.cu, launcher, ModelNew, test), torch-op (a torch.library custom op for "
            "torch.compile / torch.export), cupy or pycuda (a plain Python module).",
        ),
    ] = "files",
    db: DbOption = None,
) -> None:
    """Writes the best kernel of a task as a standalone module: .cu, launcher, ModelNew file and test;
    or a PyTorch custom op, or a cupy / pycuda module (--as)."""
    from kernelwright.report.export import export_best, export_format
    from kernelwright.store import open_store

    kind = export_format(as_)
    writable_folder(out, "--out")
    store = open_store(db, create=False)
    try:
        written = export_best(store, task, out, gpu_name=gpu, as_=kind)
    finally:
        store.close()
    for path in written:
        console.print(f"wrote {path}")


def reeval(
    gpu: Annotated[int, typer.Option("--gpu", help="Index of this machine's GPU to re-time on.")] = 0,
    task: Annotated[str | None, typer.Option("--task", help="Only this task (key or name).")] = None,
    db: DbOption = None,
) -> None:
    """Re-verifies and re-times every stored best kernel on this machine's GPU (attempts in mode 'reeval')."""
    from kernelwright.report.reeval import reeval_best
    from kernelwright.store import open_store

    def show(key: str, verdict: Verdict) -> None:
        speed = "-" if verdict.speedup_vs_eager is None else f"{verdict.speedup_vs_eager:.2f}x"
        console.print(f"{key}: {verdict.status.value} {speed} on {verdict.gpu_name}", highlight=False)

    store = open_store(db)
    try:
        results = reeval_best(store, task_filter=task, gpu_index=gpu, on_result=show)
    finally:
        store.close()
    console.print(f"Re-evaluated {len(results)} kernels; `kernelwright leaderboard` compares the GPUs.")


def register(app: typer.Typer) -> None:
    """Adds this group's commands to the root app."""
    app.command("leaderboard")(leaderboard)
    app.command("report")(report)
    app.command("export")(export)
    app.command("reeval")(reeval)
