"""`kernelwright tasks list|show`: what can be optimized, read without allocating any input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from kernelwright.contracts import ArgSpec, Task
from kernelwright.errors import TaskError

tasks_app = typer.Typer(
    help="List and inspect optimization tasks (KernelBench format).", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Adds the `tasks` group to the root app."""
    app.add_typer(tasks_app, name="tasks")


_SHORT_DTYPES = {
    "float32": "f32",
    "float16": "f16",
    "bfloat16": "bf16",
    "float64": "f64",
    "int64": "i64",
    "int32": "i32",
}


def format_arg(arg: ArgSpec, *, short: bool = False) -> str:
    """'float32[4096,4096]' ('f32[4096,4096]' when short) for a tensor, the value for anything else."""
    if arg.kind == "tensor":
        dtype = _SHORT_DTYPES.get(arg.dtype or "", arg.dtype) if short else arg.dtype
        return f"{dtype}[{','.join(str(d) for d in arg.shape or [])}]"
    return arg.value or arg.kind


def format_count(n: int | None) -> str:
    if n is None:
        return "?"
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.1f}{unit}"
    return str(n)


def task_summary(task: Task) -> dict[str, Any]:
    """A task as JSON-ready data, without its source."""
    return task.model_dump(mode="json", exclude={"source"}) | {"key": task.key}


@tasks_app.command("list")
def list_tasks(
    suite: Annotated[
        Path | None, typer.Option(help="A suite folder (KernelBench layout); default: the bundled suite.")
    ] = None,
    # KernelBench has levels 1-4: another number is a usage error (exit 2), not an empty suite.
    level: Annotated[int | None, typer.Option(min=1, max=4, help="Only tasks of this level (1-4).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """List the tasks of a suite with their input shapes and parameter counts."""
    from kernelwright.kernelbench import load_suite  # imports torch: only when listing

    listing = load_suite(suite, level=level)
    if as_json:
        payload = {
            "root": listing.root,
            "tasks": [task_summary(t) for t in listing.tasks],
            "errors": listing.errors,
        }
        typer.echo(json.dumps(payload, indent=2))
    else:
        _print_listing(listing.tasks, listing.errors, listing.root)
    if not listing.tasks:
        where = f" at level {level}" if level is not None else ""
        raise TaskError(f"no task in {listing.root}{where} could be loaded", exit_code=1)


def _print_listing(tasks: list[Task], errors: list[str], root: str) -> None:
    console = Console(soft_wrap=False)
    table = Table(title=f"{len(tasks)} task{'' if len(tasks) == 1 else 's'} in {root}", title_justify="left")
    for header, justify in (("level", "right"), ("id", "right"), ("name", "left"), ("inputs", "left")):
        table.add_column(header, justify=justify, no_wrap=header != "name", overflow="fold")  # type: ignore[arg-type]
    table.add_column("params", justify="right")
    for task in tasks:
        inputs = "\n".join(format_arg(a, short=True) for a in task.inputs)
        task_id = "" if task.task_id is None else str(task.task_id)
        table.add_row(
            str(task.level), task_id, escape(task.name), escape(inputs), format_count(task.param_count)
        )
    if tasks:
        console.print(table)
    if errors:
        console.print(f"[bold red]{len(errors)} file(s) could not be loaded:[/]")
        for line in errors:
            console.print(escape(line), highlight=False, soft_wrap=True)


@tasks_app.command("show")
def show_task(
    name: Annotated[str, typer.Argument(help="A bundled task ('19_ReLU', 'level1/19_ReLU') or a file path.")],
    suite: Annotated[Path | None, typer.Option(help="Look the name up in this suite folder.")] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Machine-readable output (source included).")
    ] = False,
) -> None:
    """Show a task: docstring, input and init-arg shapes/dtypes, parameter count, and its source."""
    from kernelwright.kernelbench import find_task  # imports torch: only when showing

    task = find_task(name, suite=suite)
    if as_json:
        typer.echo(json.dumps(task.model_dump(mode="json") | {"key": task.key}, indent=2))
        return
    console = Console()
    console.print(f"[bold]{escape(task.key)}[/]  ({escape(task.path)})", highlight=False)
    if task.description:
        console.print(escape(task.description), highlight=False)
    console.print()
    table = Table(show_header=True, title_justify="left")
    table.add_column("argument")
    table.add_column("kind")
    table.add_column("shape / value")
    table.add_column("dtype")
    for label, args in (("get_inputs", task.inputs), ("get_init_inputs", task.init_args)):
        for i, arg in enumerate(args):
            shape = str(arg.shape) if arg.kind == "tensor" else (arg.value or "")
            table.add_row(f"{label}[{i}]", arg.kind, escape(shape), arg.dtype or "")
    console.print(table)
    console.print(
        f"parameters: {task.param_count if task.param_count is not None else 'unknown (needs real data)'}"
    )
    for label, value in (("atol", task.atol), ("rtol", task.rtol), ("FLOPs per call", task.flops)):
        if value is not None:
            console.print(f"{label}: {value:g}")
    console.print()
    console.print(Syntax(task.source, "python", line_numbers=True, word_wrap=True))
