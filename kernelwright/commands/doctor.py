"""`kernelwright doctor`: what this machine has, and what `optimize` still needs (exit 1 if anything)."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from kernelwright.agents.endpoint_probe import EndpointCheck
from kernelwright.commands.options import DbOption
from kernelwright.doctor import DoctorReport, IsolationInfo, diagnose


def register(app: typer.Typer) -> None:
    """Adds `doctor` to the root app."""
    app.command("doctor")(doctor)


def doctor(
    db: DbOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    offline: Annotated[
        bool, typer.Option("--offline", help="Do not contact the LLM endpoint (no call is made).")
    ] = False,
) -> None:
    """Check Python, torch, GPUs, compilers, Nsight Compute, the sandbox's OS walls, the LLM endpoint
    (one cheap call) and the store URL."""
    report = diagnose(db, offline=offline)
    if as_json:
        typer.echo(json.dumps(report.model_dump(mode="json") | {"ready": report.ready}, indent=2))
    else:
        _print(report)
    if not report.ready:
        raise typer.Exit(1)


def _yes_no(value: str | None, absent: str = "not found") -> str:
    return escape(value) if value else f"[red]{absent}[/]"


def _llm_lines(llm: dict[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for role in ("coder", "judge"):
        settings = llm.get(role) or {}
        rows.append(
            (
                f"LLM {role}",
                f"base URL {escape(str(settings.get('base_url') or 'unset'))}, "
                f"model {escape(str(settings.get('model') or 'unset'))}, "
                f"API key {settings.get('api_key', 'unset')}",
            )
        )
    return rows


def _endpoint_rows(endpoints: list[EndpointCheck]) -> list[tuple[str, str]]:
    rows = []
    for e in endpoints:
        answer = "[red]failed[/] (see below)" if e.problem else "[green]answered[/]"
        context = f", context {e.context_tokens} tokens" if e.context_tokens else ""
        rows.append((f"LLM call ({'+'.join(e.roles)})", f"{escape(e.model)}: {answer}{context}"))
    return rows


def _isolation_rows(isolation: IsolationInfo) -> list[tuple[str, str]]:
    """`isolation: [walls up]`, then one line per wall that is missing (with why) or qualified."""
    rows = [("isolation", escape(f"[{', '.join(isolation.active)}]"))]
    rows += [
        ("", f"[yellow]{escape(name)} unavailable:[/] {escape(why)}")
        for name, why in isolation.unavailable.items()
    ]
    rows += [("", f"{escape(name)}: {escape(detail)}") for name, detail in isolation.details.items()]
    return rows


def _loader_rows(loaders: dict[str, str | None]) -> list[tuple[str, str]]:
    """`loaders: [installed]` (what --loader accepts here), then why each other one is missing."""
    installed = [name for name, why in loaders.items() if why is None]
    rows = [("loaders", escape(f"[{', '.join(installed)}]"))]
    rows += [
        ("", f"[yellow]{escape(name)} missing:[/] {escape(why)}") for name, why in loaders.items() if why
    ]
    return rows


def _print(report: DoctorReport) -> None:
    console = Console(soft_wrap=True)
    table = Table(show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()
    table.add_row("Python", f"{report.python} ({escape(report.platform)})")
    torch_cuda = f"CUDA {report.torch_cuda}" if report.torch_cuda else "CPU-only build"
    table.add_row(
        "torch", f"{escape(report.torch)} ({torch_cuda})" if report.torch else "[red]not installed[/]"
    )
    if not report.gpus:
        table.add_row("GPUs", "[red]none visible (NVML found no device)[/]")
    for i, gpu in enumerate(report.gpus):
        memory = f"{gpu.memory_mib / 1024:.0f} GiB" if gpu.memory_mib else "memory ?"
        table.add_row(
            f"GPU {i}",
            f"{escape(gpu.name)}, {memory}, compute capability {gpu.compute_capability or '?'}, "
            f"driver {gpu.driver or '?'} (CUDA {gpu.cuda_version or '?'})",
        )
    table.add_row("NVRTC", _yes_no(report.nvrtc, "cannot be loaded"))
    table.add_row("nvcc", _yes_no(report.nvcc))
    for label, text in _loader_rows(report.loaders):
        table.add_row(label, text)
    table.add_row("ncu", escape(report.ncu.message))
    for label, text in _isolation_rows(report.isolation):
        table.add_row(label, text)
    for label, text in _llm_lines(report.llm) + _endpoint_rows(report.endpoints):
        table.add_row(label, text)
    table.add_row("store", escape(report.db_url))
    console.print(table)
    console.print()
    for note in report.notes:
        console.print(f"[yellow]note:[/] {escape(note)}", highlight=False)
    if report.ready:
        console.print("[bold green]optimize can run here.[/]")
        return
    console.print("[bold red]optimize cannot run here:[/]")
    for line in report.missing:
        console.print(f"- {escape(line)}", highlight=False)
