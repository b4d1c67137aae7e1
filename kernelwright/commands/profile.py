"""`kernelwright profile --task T CANDIDATE.py`: verify and time on the GPU, then profile the candidate's
own kernels (Nsight Compute, NVML, static analysis) and print the Judge's digest and the metric table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from kernelwright.contracts import Candidate, Profile
from kernelwright.errors import KernelwrightError


def register(app: typer.Typer) -> None:
    """Adds `profile` to the root app."""
    app.command("profile")(profile)


def profile(
    candidate: Annotated[Path, typer.Argument(help="Candidate file (native CudaModule or load_inline).")],
    task: Annotated[str, typer.Option("--task", help="Task file, suite key (level1/19_ReLU) or name.")],
    gpu: Annotated[int, typer.Option(help="GPU index to run and profile on.")] = 0,
    arch: Annotated[str | None, typer.Option(help="Arch for static analysis; default: the GPU's.")] = None,
    ncu: Annotated[bool, typer.Option("--ncu/--no-ncu", help="Run Nsight Compute where usable.")] = True,
    power: Annotated[bool, typer.Option("--power/--no-power", help="Sample NVML power and clocks.")] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict and profile as JSON.")] = False,
) -> None:
    """Profile a correct candidate on the GPU: digest (what the Judge reads) and metric table."""
    from kernelwright.gpu.availability import require_gpu
    from kernelwright.kernelbench.suite import find_task
    from kernelwright.profiler.profile import Profiler, ProfilerConfig
    from kernelwright.sandbox.build.candidate_source import detect_build, read_candidate_file
    from kernelwright.sandbox.config import SandboxConfig
    from kernelwright.sandbox.evaluate import Sandbox

    loaded = find_task(task)
    source = read_candidate_file(candidate)
    cand = Candidate(source=source, build=detect_build(source))
    require_gpu(
        "`kernelwright profile`",
        "`kernelwright analyze CANDIDATE.py` shows registers, memory and occupancy on the CPU",
    )
    with Sandbox(SandboxConfig(gpu_index=gpu, arch=arch)) as sandbox:
        verdict = sandbox(loaded, cand)
    if not verdict.correct:
        raise KernelwrightError(
            f"the candidate is {verdict.status.value} ({verdict.message or 'no message'}); only correct candidates are profiled.",
            exit_code=1,
        )
    config = ProfilerConfig(device_index=gpu, arch=arch, run_ncu=ncu, run_power=power)
    result = Profiler(config)(loaded, cand, verdict)
    console = Console()
    if as_json:
        console.print_json(
            data={"verdict": verdict.model_dump(mode="json"), "profile": result.model_dump(mode="json")}
        )
        return
    console.print(result.digest, highlight=False, markup=False)
    console.print(metric_table(result))


def metric_table(result: Profile) -> Table:
    table = Table("source", "kernel", "metric", "value", "unit", title="metrics")
    for m in result.metrics:
        table.add_row(m.source, m.kernel or "-", m.name, f"{m.value:,.4g}", m.unit)
    return table
