"""`kernelwright analyze CANDIDATE.py`: compile on the CPU, print per-kernel resources and occupancy."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kernelwright.gpu.arch import check_arch
from kernelwright.gpu.target import DEFAULT_ARCH
from kernelwright.profiler.static import DEFAULT_BLOCK_SIZES, AnalysisReport, analyze_file


def register(app: typer.Typer) -> None:
    """Adds `analyze` to the root app."""
    app.command("analyze")(analyze)


def analyze(
    candidate: Annotated[Path, typer.Argument(help="Candidate file (native CudaModule or load_inline).")],
    arch: Annotated[
        str, typer.Option(help="Target GPU architecture, e.g. sm_90a (Hopper), sm_80.")
    ] = DEFAULT_ARCH,
    block_size: Annotated[
        list[int] | None, typer.Option("--block-size", help="Block size(s) for the occupancy table.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the analysis as JSON.")] = False,
) -> None:
    """Compile a candidate's CUDA on the CPU and print registers, spills, memory and occupancy."""
    check_arch(arch)
    sizes = tuple(block_size) if block_size else DEFAULT_BLOCK_SIZES
    result = analyze_file(candidate, arch=arch, block_sizes=sizes)
    console = Console()
    if as_json:
        console.print_json(result.model_dump_json())
    else:
        _render(result, console)
    if not result.ok:
        raise typer.Exit(1)


def _render(result: AnalysisReport, console: Console) -> None:
    if not result.ok:
        Console(stderr=True).print(
            f"[bold red]compile error[/] in {result.path} ({result.arch}):\n{result.log}",
            highlight=False,
            markup=True,
        )
        return
    how = f"{result.backend}, {'cached' if result.cached else f'{result.compile_s:.2f} s'}"
    console.print(
        f"{result.path}: {result.build} build, {len(result.kernels)} kernel(s) for {result.arch} ({how})"
    )
    if result.warning:
        console.print(f"[yellow]warning:[/] {result.warning}", highlight=False)
    table = Table("kernel", "regs", "spill st/ld B", "smem B", "local B", "const B")
    for k in result.kernels:
        r = k.resources
        table.add_row(
            r.name,
            str(r.registers_per_thread),
            f"{r.spill_stores_bytes}/{r.spill_loads_bytes}",
            str(r.shared_bytes),
            str(r.local_bytes),
            str(r.constant_bytes),
        )
    console.print(table)
    if result.occupancy_note:
        console.print(result.occupancy_note, highlight=False)
    for k in result.kernels:
        if not k.occupancy:
            continue
        occ = Table(
            "threads/block", "blocks/SM", "occupancy", "limiter", title=f"occupancy of {k.resources.name}"
        )
        for row in k.occupancy:
            limiter = row.limiter or "-"
            if row.blocks_per_sm == 0:
                limiter += " (cannot launch)"
            occ.add_row(
                str(row.threads_per_block), str(row.blocks_per_sm), f"{row.occupancy_pct:.0f}%", limiter
            )
        console.print(occ)
