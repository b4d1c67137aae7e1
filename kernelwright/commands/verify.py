"""`kernelwright verify --task T CANDIDATE.py`: guard, compile, verify and time one candidate in the
isolated sandbox, print the verdict, exit with a code per status."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal, cast

import typer
from rich.console import Console
from rich.table import Table

from kernelwright.contracts import Candidate, Status, Task, Verdict
from kernelwright.errors import ConfigError, KernelwrightError
from kernelwright.gpu.availability import require_gpu

# Distinct exit code per status; 2 and 3 are taken by usage/config errors and "no GPU".
EXIT_CODES: dict[Status, int] = {
    Status.ok: 0,
    Status.suspicious: 10,
    Status.incorrect: 11,
    Status.rejected: 12,
    Status.compile_error: 13,
    Status.runtime_error: 14,
    Status.timeout: 15,
    Status.crashed: 16,
}
EXIT_HELP = ", ".join(f"{code} {status.value}" for status, code in EXIT_CODES.items())
STATUS_STYLE = {Status.ok: "bold green", Status.suspicious: "bold yellow"}


def register(app: typer.Typer) -> None:
    """Adds `verify` to the root app."""
    app.command("verify", help=f"{verify.__doc__}\n\nExit codes: {EXIT_HELP}; 2 bad input, 3 no GPU.")(verify)


def verify(
    candidate: Annotated[Path, typer.Argument(help="Candidate file defining ModelNew.")],
    task: Annotated[str, typer.Option("--task", "-t", help="Bundled task name/key or a task file path.")],
    device: Annotated[
        str | None, typer.Option(help="cuda or cpu; default cuda when a GPU is visible, else cpu.")
    ] = None,
    allow_torch: Annotated[
        bool,
        typer.Option("--allow-torch", help="Allow PyTorch ops in forward (every other check still applies)."),
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the verdict as JSON.")] = False,
    trials: Annotated[
        int, typer.Option(min=5, help="Correctness trials (fresh seeds each; at least 5).")
    ] = 5,
    no_timing: Annotated[bool, typer.Option("--no-timing", help="Verify only; skip timing.")] = False,
    compile_timeout: Annotated[float, typer.Option(help="Seconds allowed for loading/compiling.")] = 300.0,
    run_timeout: Annotated[float, typer.Option(help="Seconds allowed for verification and timing.")] = 120.0,
    loader: Annotated[
        str,
        typer.Option(
            help="Library that loads and launches native candidates' cubin: cuda-python, cupy or pycuda "
            "(same NVRTC cubin, same verdict; `kernelwright doctor` lists the installed ones)."
        ),
    ] = "cuda-python",
) -> None:
    """Verify and time one candidate against a task in the isolated sandbox."""
    from kernelwright.gpu.availability import gpu_available
    from kernelwright.kernelbench import find_task
    from kernelwright.sandbox.config import SandboxConfig
    from kernelwright.sandbox.evaluate import Sandbox

    chosen = _device(device, gpu_available())
    chosen_loader = _loader(loader, chosen)
    the_task = find_task(task)
    the_candidate = _read_candidate(candidate)
    config = SandboxConfig(
        device=chosen,
        allow_torch=allow_torch,
        trials=trials,
        timing=not no_timing,
        compile_timeout_s=compile_timeout,
        run_timeout_s=run_timeout,
        loader=chosen_loader,
    )
    if (syntax := _syntax_verdict(the_task, the_candidate, candidate, allow_torch)) is not None:
        verdict = syntax
    else:
        from kernelwright.agents.tuning import judge_tuned

        with Sandbox(config) as sandbox:
            # a file that declares TUNE is judged per configuration; the fastest correct one is kept
            verdict = judge_tuned(the_task, the_candidate, sandbox, compile_only=False).verdict
    verdict = with_cpu_headline(verdict, chosen)
    if as_json:
        sys.stdout.write(verdict.model_dump_json(indent=2) + "\n")
    else:
        render(verdict, Console(), task=the_task.key, candidate=str(candidate))
    raise typer.Exit(EXIT_CODES[verdict.status])


CPU_HINT = (
    "This candidate launches CUDA kernels, which run only on an NVIDIA GPU: verify it with --device cuda "
    "there (`kernelwright analyze` compiles it here)."
)


def with_cpu_headline(verdict: Verdict, device: str) -> Verdict:
    """A kernel candidate run on the CPU fails deep inside its launcher (load_inline's, say, with an
    IndexError); that error is noise, the reason is the device. Its message (in the table and in
    --json alike) becomes the hint, and the sandbox's own message moves to the head of the log."""
    if device != "cpu" or not verdict.kernel_names or verdict.status != Status.runtime_error:
        return verdict
    log = f"sandbox message: {verdict.message}\n{verdict.log or ''}".rstrip("\n")
    return verdict.model_copy(update={"message": CPU_HINT, "log": log})


def _device(requested: str | None, has_gpu: bool) -> str:
    if requested is None:
        if not has_gpu:
            Console(stderr=True).print("no NVIDIA GPU visible: verifying on the CPU (--device cpu).")
        return "cuda" if has_gpu else "cpu"
    if requested not in ("cuda", "cpu"):
        raise KernelwrightError(f"--device must be cuda or cpu, not '{requested}'")
    if requested == "cuda":
        require_gpu("--device cuda", "use --device cpu")
    return requested


def _loader(requested: str, device: str) -> Literal["cuda-python", "cupy", "pycuda"]:
    """The --loader name, checked; on the GPU its library must import (doctor says why not)."""
    from kernelwright.sandbox.loaders import LOADER_NAMES, missing_reason

    if requested not in LOADER_NAMES:
        raise ConfigError(f"--loader must be one of {', '.join(LOADER_NAMES)}, not '{requested}'.")
    if device == "cuda" and (reason := missing_reason(requested)) is not None:
        raise ConfigError(f"--loader {requested}: {reason}")
    return cast(Literal["cuda-python", "cupy", "pycuda"], requested)


def _read_candidate(path: Path) -> Candidate:
    from kernelwright.sandbox.build.candidate_source import (
        CandidateSyntaxError,
        detect_build,
        read_candidate_file,
    )

    source = read_candidate_file(path, check_syntax=False)
    try:
        build = detect_build(source)
    except CandidateSyntaxError:
        build = "native"  # the guard reports the syntax error as a verdict
    return Candidate(source=source, build=build, origin="file")


def _syntax_verdict(task: Task, candidate: Candidate, path: Path, allow_torch: bool) -> Verdict | None:
    """The guard's own verdict for a file that does not parse, naming the user's file: the sandbox
    does not know the file's name and would say 'candidate.py'. None when the file parses."""
    from kernelwright.sandbox.build.candidate_source import CandidateSyntaxError, parse_candidate
    from kernelwright.sandbox.guard.static_check import static_verdict

    try:
        parse_candidate(candidate.source, filename=str(path))
    except CandidateSyntaxError:
        return static_verdict(task, candidate, allow_torch=allow_torch, filename=str(path))
    return None


def _timing_cell(verdict: Verdict) -> str:
    parts = []
    for label, stats in (
        ("candidate", verdict.candidate_timing),
        ("eager", verdict.eager_timing),
        ("torch.compile", verdict.compiled_timing),
    ):
        if stats is not None:
            parts.append(
                f"{label} {stats.median_ms:.4f} ms (IQR {stats.iqr_ms:.4f}, CV {stats.cv:.2f}, n={stats.trials})"
            )
    return "\n".join(parts)


def render(verdict: Verdict, console: Console, *, task: str, candidate: str) -> None:
    """The verdict as a two-column table, then its log."""
    table = Table(title=f"{candidate} vs {task}", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    style = STATUS_STYLE.get(verdict.status, "bold red")
    table.add_row("status", f"[{style}]{verdict.status.value}[/]")
    if verdict.rule:
        table.add_row("rule", verdict.rule)
    table.add_row("message", verdict.message)
    table.add_row("device", verdict.gpu_name or verdict.device)
    if verdict.trials:
        passed = sum(t.passed for t in verdict.trials)
        worst = max((t.max_abs_error or 0.0) for t in verdict.trials)
        table.add_row("trials", f"{passed}/{len(verdict.trials)} passed, max abs error {worst:.3g}")
    if timing := _timing_cell(verdict):
        table.add_row("timing", timing)
    if (check := verdict.timing_check) is not None:
        table.add_row(
            "timing check",
            f"{'consistent' if check.consistent else 'NOT consistent'}: runner {check.reported_median_ms:.4f} ms, "
            f"judge saw >= {check.observed_low_ms:.4f} ms; {check.spot_checks} of {check.calls} timed calls compared",
        )
    if verdict.speedup_vs_eager is not None:
        table.add_row("speedup vs eager", f"{verdict.speedup_vs_eager:.2f}x")
    if verdict.speedup_vs_compiled is not None:
        table.add_row("speedup vs torch.compile", f"{verdict.speedup_vs_compiled:.2f}x")
    if verdict.kernel_names:
        table.add_row("kernels", ", ".join(verdict.kernel_names))
    for trial in verdict.tuning:
        values = ", ".join(f"{k}={v!r}" for k, v in trial.values.items())
        time = f", {trial.median_ms:.4g} ms" if trial.median_ms is not None else ""
        table.add_row("tuning" + (" (kept)" if trial.chosen else ""), f"{values}: {trial.status.value}{time}")
    for f in verdict.findings[:10]:
        table.add_row(f"finding {f.rule}", f"line {f.line}: {f.message}" if f.line else f.message)
    if verdict.isolation:
        table.add_row("isolation", ", ".join(verdict.isolation))
    table.add_row("elapsed", ", ".join(f"{k} {v:.2f} s" for k, v in verdict.elapsed_s.items()))
    console.print(table)
    if verdict.log:
        console.print(verdict.log, highlight=False, markup=False)
