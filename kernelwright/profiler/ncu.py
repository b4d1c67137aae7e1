"""Nsight Compute: is it here, may it read counters, and running it on exactly the judged candidate.

Counter permission follows NVIDIA's ERR_NVGPUCTRPERM note
(developer.nvidia.com/nvidia-development-tools-solutions-ERR_NVGPUCTRPERM-permission-issue-performance-counters):
since driver 418.43 on Linux only admins (root, CAP_SYS_ADMIN, or CAP_PERFMON from R565) may read
the counters unless the module option NVreg_RestrictProfilingToAdminUsers=0 is set; the driver
shows the setting as `RmProfilingAdminOnly` in /proc/driver/nvidia/params.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
from pathlib import Path
from typing import TypeAlias

from pydantic import BaseModel, Field

# Kernel name -> figure name -> per-call value, as ncu_csv.aggregate_per_kernel condenses a run.
KernelFigures: TypeAlias = dict[str, dict[str, float]]

PERMISSION_ERROR = "ERR_NVGPUCTRPERM"
ENABLE_COUNTERS_HINT = (
    "run as root or with CAP_SYS_ADMIN/CAP_PERFMON, or load the driver with "
    "`options nvidia NVreg_RestrictProfilingToAdminUsers=0` (modprobe.d) and reboot"
)
INSTALL_HINT = (
    "install Nsight Compute (the CUDA toolkit ships it) or put `ncu` on PATH / set KERNELWRIGHT_NCU"
)
DRIVER_PARAMS = Path("/proc/driver/nvidia/params")


class NcuStatus(BaseModel):
    """What the doctor and the profiler know about Nsight Compute before running it."""

    path: str | None = Field(None, description="Absolute path of the ncu executable, or None.")
    counters_readable: bool | None = Field(
        None, description="True/False from the driver's profiling setting; None when it cannot be told."
    )
    message: str = Field(description="One line: what works, or what is missing and how to enable it.")

    @property
    def usable(self) -> bool:
        return self.path is not None and self.counters_readable is not False


def find_ncu() -> str | None:
    """KERNELWRIGHT_NCU, then PATH, then the CUDA toolkit and standalone install locations."""
    explicit = os.environ.get("KERNELWRIGHT_NCU")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    on_path = shutil.which("ncu")
    if on_path:
        return on_path
    roots = [os.environ.get("CUDA_HOME", ""), os.environ.get("CUDA_PATH", ""), "/usr/local/cuda"]
    candidates = [os.path.join(r, "bin", "ncu") for r in roots if r]
    candidates += sorted(glob.glob("/opt/nvidia/nsight-compute/*/ncu"), reverse=True)
    candidates += sorted(glob.glob("/usr/local/cuda-*/bin/ncu"), reverse=True)
    return next((c for c in candidates if os.access(c, os.X_OK)), None)


def counters_readable(params_text: str | None, *, is_admin: bool) -> bool | None:
    """Reads the driver's RmProfilingAdminOnly flag; None when there is no driver to ask."""
    if params_text is None:
        return None
    if is_admin:
        return True
    for line in params_text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "RmProfilingAdminOnly":
            return value.strip() == "0"
    return None


def _driver_params() -> str | None:
    try:
        return DRIVER_PARAMS.read_text()
    except OSError:
        return None


def ncu_status() -> NcuStatus:
    """Never raises: a missing tool or driver is an answer, not an error."""
    path = find_ncu()
    readable = counters_readable(_driver_params(), is_admin=os.geteuid() == 0)
    if path is None:
        message = f"Nsight Compute (ncu) not found: {INSTALL_HINT}."
    elif readable is False:
        message = f"ncu at {path}, but GPU performance counters are admin-only ({PERMISSION_ERROR}): {ENABLE_COUNTERS_HINT}."
    elif readable is None:
        message = f"ncu at {path}; counter permission unknown (no NVIDIA driver parameters readable)."
    else:
        message = f"ncu at {path}; GPU performance counters readable."
    return NcuStatus(path=path, counters_readable=readable, message=message)


# ---------------------------------------------------------------- running ncu on one candidate


class NcuConfig(BaseModel):
    """How Nsight Compute is run on a judged candidate."""

    timeout_s: float = 240.0
    """Wall-time limit for the whole ncu run (replays make it 10-100x slower than the kernel)."""
    calls: int = 3
    """Forward calls inside the profiled range; per-call figures are totals divided by this."""
    warmup_calls: int = 3
    """Forward calls before the profiled range starts (JIT, caches, allocator), never profiled."""
    launch_skip: int = 0
    """Matching launches inside the range to skip before profiling (ncu --launch-skip)."""
    max_launches: int = 64
    """Upper bound on profiled launches (ncu --launch-count), whatever the candidate does."""


class NcuRun(BaseModel):
    """Outcome of one ncu run: per-kernel per-call figures, or one line saying what went wrong."""

    ok: bool
    kernels: KernelFigures = Field(default_factory=dict)
    launches: int = 0
    wall_s: float = 0.0
    message: str = ""
    command: list[str] = Field(default_factory=list)
    raw_output: str = Field("", exclude=True)
    output_bytes: float | None = Field(
        None, description="Bytes of one call's outputs, as the profiled child measured them."
    )


def kernel_filter(kernel_names: list[str]) -> str:
    """ncu --kernel-name value matching exactly the candidate's kernels by function base name."""
    from kernelwright.profiler.ncu_csv import kernel_base_name
    from kernelwright.sandbox.build.compile import demangled_base

    # ncu matches the demangled function name without namespace or parameters (--kernel-name-base function).
    bases = sorted({kernel_base_name(demangled_base(n)) for n in kernel_names})
    return "regex:^(" + "|".join(re.escape(b) for b in bases) + ")$"


def ncu_command(
    ncu: str, kernel_names: list[str], config: NcuConfig, target: list[str], metrics: list[str] | None = None
) -> list[str]:
    from kernelwright.profiler.ncu_metrics import metrics_argument

    return [
        ncu,
        "--csv",
        "--page",
        "raw",
        "--print-units",
        "base",
        "--metrics",
        metrics_argument(metrics),
        "--kernel-name-base",
        "function",
        "--kernel-name",
        kernel_filter(kernel_names),
        "--launch-skip",
        str(config.launch_skip),
        "--launch-count",
        str(config.max_launches),
        "--profile-from-start",
        "off",
        # ncu locks the clocks to base by default; the sandbox timed the kernel at the clocks the GPU
        # chose, so the profiled durations must be taken at those too.
        "--clock-control",
        "none",
        "--target-processes",
        "all",
        *target,
    ]


def interpret_ncu_output(output: str, returncode: int, calls: int) -> NcuRun:
    """Pure: what an ncu run's combined output means (tested on documented-format fixtures)."""
    from kernelwright.profiler.ncu_csv import NcuParseError, aggregate_per_kernel, parse_ncu_csv

    if PERMISSION_ERROR in output:
        msg = f"ncu: no permission to read GPU performance counters ({PERMISSION_ERROR}); {ENABLE_COUNTERS_HINT}."
        return NcuRun(ok=False, message=msg, raw_output=output)
    try:
        launches = parse_ncu_csv(output)
    except NcuParseError:
        launches = []
    if not launches:
        last = next((ln for ln in reversed(output.splitlines()) if ln.startswith("==ERROR==")), None)
        why = (
            last.removeprefix("==ERROR==").strip()
            if last
            else f"no launch of the candidate's kernels was profiled (exit {returncode})"
        )
        return NcuRun(ok=False, message=f"ncu: {why}.", raw_output=output)
    kernels = aggregate_per_kernel(launches, calls)
    return NcuRun(ok=True, kernels=kernels, launches=len(launches), raw_output=output)


def ncu_refusal(status: NcuStatus, kernel_names: list[str]) -> str | None:
    """Why ncu cannot profile these kernels here (one line), or None when it can try."""
    if status.path is None or status.counters_readable is False:
        return status.message
    if not kernel_names:
        return "ncu: not run, the candidate's kernel names are unknown."
    return None


QUERY_TIMEOUT_S = 60.0


def query_listed_metrics(ncu: str, *, workdir: str, env: dict[str, str] | None) -> set[str] | None:
    """Base metric names this ncu offers on the visible GPU (`ncu --query-metrics`, which runs no
    program); None when it cannot say. ncu stops a profiled run at the first unknown metric it meets,
    so learning them all here saves one whole profiled run per renamed or missing counter."""
    from kernelwright.profiler.child import run_in_group
    from kernelwright.profiler.ncu_metrics import listed_metrics

    child = run_in_group(
        [ncu, "--query-metrics"], cwd=workdir, env=env, timeout_s=QUERY_TIMEOUT_S, merge=True
    )
    if child.returncode != 0:
        return None
    return listed_metrics(child.stdout) or None


def run_ncu(
    task_path: str,
    candidate_path: str,
    kernel_names: list[str],
    config: NcuConfig,
    *,
    python: str,
    workdir: str,
    env: dict[str, str] | None = None,
) -> NcuRun:
    """Profiles the candidate's own kernels in a child process group; never raises."""
    import time

    from kernelwright.profiler.child import run_in_group
    from kernelwright.profiler.driver_io import driver_command
    from kernelwright.profiler.ncu_metrics import (
        BY_NCU_NAME,
        next_metric_set,
        rejected_metrics,
        resolve_metrics,
    )

    status = ncu_status()
    refusal = ncu_refusal(status, kernel_names)
    if refusal is not None:
        return NcuRun(ok=False, message=refusal)
    assert status.path is not None  # ncu_refusal answers for a missing ncu
    report_path = os.path.join(workdir, "ncu-driver.json")
    target = driver_command(python, task_path, candidate_path, "ncu", report_path)
    target += ["--warmup", str(config.warmup_calls), "--calls", str(config.calls)]
    start = time.perf_counter()
    requested, dropped = resolve_metrics(query_listed_metrics(status.path, workdir=workdir, env=env))
    # Only where the list could not be had (or was wrong): ncu refuses the whole run at the first
    # unknown metric; every one it names is swapped or dropped at once before the retry.
    for _ in range(3):
        cmd = ncu_command(status.path, kernel_names, config, target, requested)
        child = run_in_group(cmd, cwd=workdir, env=env, timeout_s=config.timeout_s, merge=True)
        if child.returncode is None:
            return NcuRun(
                ok=False, message=f"ncu: did not finish within {config.timeout_s:.0f} s.", command=cmd
            )
        returncode: int = child.returncode
        rejected = rejected_metrics(child.stdout, requested)
        if not rejected:
            break
        dropped += rejected
        requested = next_metric_set(requested, rejected)
    run = interpret_ncu_output(child.stdout, returncode, config.calls)
    run.wall_s, run.command = time.perf_counter() - start, cmd
    run.output_bytes = _driver_output_bytes(report_path)
    kept = {BY_NCU_NAME[n].short for n in requested}
    lost = sorted({BY_NCU_NAME[n].short for n in dropped} - kept)
    if run.ok and lost:
        run.message = f"ncu: counters this ncu/GPU does not offer: {', '.join(lost)}."
    return run


def _driver_output_bytes(path: str) -> float | None:
    from kernelwright.profiler.driver_io import DriverReport

    try:
        report = DriverReport.model_validate_json(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return float(report.output_bytes) or None
