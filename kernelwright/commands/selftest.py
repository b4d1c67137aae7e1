"""`kernelwright selftest`: one honest kernel through every stage a run depends on (NVRTC, each
installed loader, verification and timing against eager, ncu, NVML), one line per stage. Exit 0 when
nothing failed, 1 when a stage failed, 3 without a usable GPU."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from kernelwright.commands.selftest_stages import SelftestReport, StageResult, StageStatus
from kernelwright.errors import NoGPUError

STYLE = {StageStatus.ok: "green", StageStatus.failed: "bold red", StageStatus.skipped: "yellow"}
NAME_WIDTH = 20


def register(app: typer.Typer) -> None:
    """Adds `selftest` to the root app."""
    app.command("selftest")(selftest)


def selftest(
    as_json: Annotated[bool, typer.Option("--json", help="Print the stages as JSON.")] = False,
    save: Annotated[
        Path | None, typer.Option(help="Also write the stages as JSON to this file.", dir_okay=False)
    ] = None,
) -> None:
    """Check this GPU machine end to end in about a minute: compile one honest kernel with NVRTC,
    launch it through each installed loader, verify it and time it against eager, profile it with
    ncu and NVML. One line per stage: ok, or what failed and how to fix it.

    Exit codes: 0 every stage ok or skipped, 1 a stage failed, 3 no usable GPU."""
    from kernelwright.commands.selftest_stages import run_selftest

    _require_gpu()
    console = Console(soft_wrap=True, highlight=False)
    report = run_selftest(None if as_json else lambda stage: console.print(line(stage)))
    text = report.model_dump_json(indent=2)
    if save is not None:
        save.write_text(text + "\n")
    if as_json:
        typer.echo(text)
    else:
        console.print(summary(report))
    if report.failed:
        raise typer.Exit(1)


def _require_gpu() -> None:
    """One sentence, exit 3, when there is nothing to test; it names what is missing."""
    from kernelwright.gpu.availability import gpu_available
    from kernelwright.gpu.nvml import list_gpus

    if gpu_available():
        return
    gpus = list_gpus()
    if gpus:
        raise NoGPUError(
            f"kernelwright selftest needs torch built with CUDA, and this torch is a CPU-only build "
            f"(NVML sees {gpus[0].name}); install a CUDA build of torch."
        )
    raise NoGPUError(
        "kernelwright selftest needs an NVIDIA GPU and none is usable here (NVML sees no device); "
        "`kernelwright doctor` lists what this machine has."
    )


def line(stage: StageResult) -> str:
    """`ok      loader cupy      verified ...`, with the fix on the same line after a failure."""
    status = f"[{STYLE[stage.status]}]{stage.status.value:<8}[/]"
    fix = f"; [bold]fix:[/] {escape(stage.fix)}" if stage.fix else ""
    seconds = f" ({stage.seconds:.1f} s)" if stage.seconds >= 0.05 else ""
    return f"{status}{escape(stage.name):<{NAME_WIDTH}}{escape(stage.detail)}{seconds}{fix}"


def summary(report: SelftestReport) -> str:
    failed = report.failed
    where = escape(f" on {report.gpu} ({report.arch})") if report.gpu else ""
    if not failed:
        return f"selftest passed{where} in {report.seconds:.0f} s."
    names = ", ".join(s.name for s in failed)
    return f"[bold red]selftest: {len(failed)} stage(s) failed{where}: {escape(names)}[/] ({report.seconds:.0f} s)."
