"""The stages of `kernelwright selftest` as typed results: each says ok, or what failed and how to fix
it, or why it was skipped. Rendering lives in selftest.py; nothing here prints."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from enum import StrEnum

from pydantic import BaseModel, Field

from kernelwright.commands.selftest_case import KERNEL_NAME, KERNEL_SOURCE
from kernelwright.contracts import Candidate, GPUIdentity, Status, Task, Verdict
from kernelwright.sandbox.build.compile import CompileResult
from kernelwright.sandbox.config import SandboxConfig


class StageStatus(StrEnum):
    ok = "ok"
    failed = "failed"
    skipped = "skipped"


class StageResult(BaseModel):
    """One line of the selftest."""

    name: str
    status: StageStatus
    detail: str = Field(description="What was checked and found (ok), what failed, or why skipped.")
    fix: str | None = Field(None, description="For a failure: what to do about it, when it is known.")
    seconds: float = 0.0


class SelftestReport(BaseModel):
    gpu: str | None = None
    arch: str | None = None
    stages: list[StageResult] = Field(default_factory=list)
    seconds: float = 0.0

    @property
    def failed(self) -> list[StageResult]:
        return [s for s in self.stages if s.status == StageStatus.failed]


COUNTERS_FIX = (
    "counters unreadable: run with sudo or set NVreg_RestrictProfilingToAdminUsers=0 "
    "(`options nvidia NVreg_RestrictProfilingToAdminUsers=0` in /etc/modprobe.d/, then reboot)"
)
DRIVER_TOO_OLD_FIX = (
    "the NVIDIA driver is older than the CUDA toolkit that built the kernel: update the driver, or "
    "install the NVRTC of the driver's CUDA major version (`nvidia-smi` shows it), e.g. "
    "pip install 'kernelwright[cuda12]' for a CUDA 12 driver"
)
ARCH_UNKNOWN_FIX = (
    "this NVRTC predates the GPU's architecture: install a newer one, pip install -U 'kernelwright[cuda13]'"
)
NVRTC_MISSING_FIX = (
    "install NVRTC: pip install 'kernelwright[cuda13]' ([cuda12] for a CUDA 12 driver), "
    "or a CUDA toolkit with CUDA_HOME set"
)
NVML_FIX = "install nvidia-ml-py (pip install nvidia-ml-py) and check that `nvidia-smi` works"

# Failure text (driver, NVRTC, ncu, sandbox) -> what to do. First match wins.
FIXES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"ERR_NVGPUCTRPERM|counters are admin-only", re.I), COUNTERS_FIX),
    (
        re.compile(
            r"UNSUPPORTED_PTX_VERSION|unsupported PTX version|INVALID_IMAGE|device kernel image is invalid"
            r"|NO_BINARY_FOR_GPU|no kernel image is available|INSUFFICIENT_DRIVER"
            r"|driver version is insufficient",
            re.I,
        ),
        DRIVER_TOO_OLD_FIX,
    ),
    (
        re.compile(r"SYSTEM_DRIVER_MISMATCH|driver/library version mismatch", re.I),
        "the NVIDIA kernel module and user-space driver differ (a driver update without reboot): reboot",
    ),
    (
        re.compile(r"invalid value for --gpu-architecture|unsupported gpu architecture", re.I),
        ARCH_UNKNOWN_FIX,
    ),
    (re.compile(r"libnvrtc|NVRTC cannot be loaded|No module named 'cuda", re.I), NVRTC_MISSING_FIX),
    (
        re.compile(r"out of memory|OUT_OF_MEMORY", re.I),
        "the GPU's memory is taken: free it (`nvidia-smi` lists the processes holding it)",
    ),
    (
        re.compile(r"sandbox-wall|Operation not permitted", re.I),
        "the sandbox's OS walls refused something CUDA needs here: `kernelwright doctor` lists the walls",
    ),
    (
        re.compile(r"Nsight Compute \(ncu\) not found", re.I),
        "install Nsight Compute (the CUDA toolkit ships it) or set KERNELWRIGHT_NCU",
    ),
)


def fix_for(text: str) -> str | None:
    """The fix for the first known failure in `text`, None when none is known."""
    return next((fix for pattern, fix in FIXES if pattern.search(text)), None)


def first_line(text: str, limit: int = 240) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 3] + "..."


# ---------------------------------------------------------------- stages


def gpu_stage(gpu: GPUIdentity | None) -> StageResult:
    """The GPU as NVML sees it, and whether torch is built for a CUDA this driver runs."""
    import torch

    if gpu is None:
        return StageResult(
            name="gpu",
            status=StageStatus.failed,
            detail="NVML sees no NVIDIA GPU",
            fix="check that `nvidia-smi` lists the GPU and that nvidia-ml-py is installed",
        )
    cuda = torch.version.cuda
    detail = (
        f"{gpu.name}, compute capability {gpu.compute_capability or '?'}, driver {gpu.driver or '?'} "
        f"(CUDA {gpu.cuda_version or '?'}); torch {torch.__version__} for CUDA {cuda}"
    )
    if cuda and gpu.cuda_version and _major(cuda) > _major(gpu.cuda_version):
        return StageResult(
            name="gpu",
            status=StageStatus.failed,
            detail=detail + ": torch needs a newer driver",
            fix=f"update the NVIDIA driver to one for CUDA {cuda}, or install a torch built for CUDA "
            f"{gpu.cuda_version} or older",
        )
    return StageResult(name="gpu", status=StageStatus.ok, detail=detail)


def nvrtc_stage(arch: str) -> tuple[StageResult, CompileResult | None]:
    """Compiles the selftest kernel with NVRTC for `arch`, bypassing the cache (a real compile)."""
    from kernelwright.sandbox.build.compile import CompileConfig, compile_cuda, nvrtc_version

    start = time.perf_counter()
    version = nvrtc_version()
    if version is None:
        result = StageResult(
            name="nvrtc", status=StageStatus.failed, detail="NVRTC cannot be loaded", fix=NVRTC_MISSING_FIX
        )
        return result, None
    compiled = compile_cuda(KERNEL_SOURCE, arch, config=CompileConfig(use_cache=False, nvcc_fallback=False))
    seconds = round(time.perf_counter() - start, 2)
    if not compiled.ok:
        log = compiled.log or "NVRTC failed without a log"
        result = StageResult(
            name="nvrtc",
            status=StageStatus.failed,
            detail=f"NVRTC {version} could not compile the selftest kernel for {arch}: {first_line(log)}",
            fix=fix_for(log),
            seconds=seconds,
        )
        return result, None
    resources = next((r for r in compiled.resources if r.name == KERNEL_NAME), None)
    regs = f", {resources.registers_per_thread} registers/thread" if resources else ""
    result = StageResult(
        name="nvrtc",
        status=StageStatus.ok,
        detail=f"NVRTC {version} compiled {KERNEL_NAME} for {arch} ({len(compiled.cubin or b'')} B cubin{regs})",
        seconds=seconds,
    )
    return result, compiled


def driver_stage(gpu: GPUIdentity) -> StageResult:
    """Whether this driver can load what this NVRTC builds: a cubin runs on drivers of the same CUDA
    major version (minor-version compatibility) or newer, never on an older major."""
    from kernelwright.sandbox.build.compile import nvrtc_version

    nvrtc = nvrtc_version()
    if nvrtc is None or not gpu.cuda_version:
        return StageResult(
            name="driver",
            status=StageStatus.skipped,
            detail="NVRTC's or the driver's CUDA version is unknown",
        )
    if _major(nvrtc) > _major(gpu.cuda_version):
        return StageResult(
            name="driver",
            status=StageStatus.failed,
            detail=f"NVRTC {nvrtc} builds cubins that driver {gpu.driver} (CUDA {gpu.cuda_version}) cannot load",
            fix=DRIVER_TOO_OLD_FIX,
        )
    return StageResult(
        name="driver",
        status=StageStatus.ok,
        detail=f"driver {gpu.driver} (CUDA {gpu.cuda_version}) loads NVRTC {nvrtc}'s cubins",
    )


def loader_stage(
    name: str, task: Task, candidate: Candidate, run: Callable[[str], Verdict]
) -> tuple[StageResult, Verdict | None]:
    """Verifies and times the selftest kernel through loader `name` (run(name) is one sandbox
    evaluation with that loader); skipped, with the reason, when the loader is not installed."""
    from kernelwright.sandbox.loaders import missing_reason

    stage = f"loader {name}"
    reason = missing_reason(name)
    if reason is not None:
        return StageResult(name=stage, status=StageStatus.skipped, detail=reason), None
    start = time.perf_counter()
    try:
        verdict = run(name)
    except Exception as err:  # a diagnostic reports the sandbox's own failure as this stage's line
        text = f"{type(err).__name__}: {err}"
        seconds = round(time.perf_counter() - start, 2)
        failed = StageResult(
            name=stage, status=StageStatus.failed, detail=first_line(text), fix=fix_for(text), seconds=seconds
        )
        return failed, None
    seconds = round(time.perf_counter() - start, 2)
    return verdict_stage(stage, verdict, seconds), verdict


def verdict_stage(stage: str, verdict: Verdict, seconds: float = 0.0) -> StageResult:
    """A loader's line from its verdict: the honest kernel must be `ok`, correct and timed."""
    if verdict.status != Status.ok:
        text = f"{verdict.message}\n{verdict.log}"
        rule = f" ({verdict.rule})" if verdict.rule else ""
        return StageResult(
            name=stage,
            status=StageStatus.failed,
            detail=f"the honest kernel came back {verdict.status.value}{rule}: {first_line(verdict.message)}",
            fix=fix_for(text),
            seconds=seconds,
        )
    timing, eager = verdict.candidate_timing, verdict.eager_timing
    trials = sum(1 for t in verdict.trials if t.trial >= 0)
    timed = (
        f"{timing.median_ms:.4g} ms per call vs eager {eager.median_ms:.4g} ms "
        f"({verdict.speedup_vs_eager:.2f}x)"
        if timing and eager and verdict.speedup_vs_eager
        else "not timed"
    )
    return StageResult(
        name=stage,
        status=StageStatus.ok,
        detail=f"verified ({trials} trials), {timed}",
        seconds=seconds,
    )


def ncu_stage(ncu_message: str | None, ncu_ok: bool, launches: int, path: str | None) -> StageResult:
    """Nsight Compute's line from the profiler's ncu run (its message says what went wrong)."""
    if ncu_ok:
        lost = f"; {ncu_message}" if ncu_message else ""
        return StageResult(
            name="ncu",
            status=StageStatus.ok,
            detail=f"{path} profiled {launches} launch(es) of {KERNEL_NAME}{lost}",
        )
    message = ncu_message or "ncu gave no figures"
    return StageResult(
        name="ncu", status=StageStatus.failed, detail=first_line(message), fix=fix_for(message)
    )


def nvml_stage(power_w: float | None, energy_mj: float | None, unavailable: list[str]) -> StageResult:
    """NVML's line from the profiler's sampled loop."""
    if power_w is not None:
        energy = f", {energy_mj:.3g} mJ per call" if energy_mj is not None else ""
        return StageResult(name="nvml", status=StageStatus.ok, detail=f"{power_w:.0f} W median{energy}")
    why = next((u for u in unavailable if "NVML" in u), "NVML gave no power readings")
    return StageResult(
        name="nvml", status=StageStatus.failed, detail=first_line(why), fix=fix_for(why) or NVML_FIX
    )


def _major(version: str) -> int:
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else 0


# ---------------------------------------------------------------- the whole run

NO_CUBIN = "not run: the NVRTC stage built no kernel"
NOT_VERIFIED = "not run: no loader verified the kernel (only a verified kernel is profiled)"


def selftest_sandbox(loader: str) -> SandboxConfig:
    """A short protocol through `loader`: five correctness trials, a third of a second of timing."""
    quick = SandboxConfig(
        device="cuda",
        trials=5,
        shape_trial=False,
        timing_min_calls=30,
        timing_min_seconds=0.3,
        timing_max_seconds=5.0,
        compile_timeout_s=60.0,
        run_timeout_s=60.0,
        call_timeout_s=20.0,
    )
    # Validated, so a name the sandbox does not know is refused here too.
    return SandboxConfig.model_validate(quick.model_dump() | {"loader": loader})


def run_selftest(progress: Callable[[StageResult], None] | None = None) -> SelftestReport:
    """Every stage on GPU 0, in order; `progress` sees each result as soon as it is known."""
    from kernelwright.commands.selftest_case import selftest_candidate, selftest_task
    from kernelwright.gpu.arch import arch_for_capability
    from kernelwright.gpu.nvml import gpu_identity
    from kernelwright.sandbox.loaders import DEFAULT_LOADER, LOADER_NAMES

    started = time.perf_counter()
    gpu = gpu_identity(0)
    arch = arch_for_capability(gpu.compute_capability) if gpu and gpu.compute_capability else "sm_90"
    report = SelftestReport(gpu=gpu.name if gpu else None, arch=arch)

    def add(stage: StageResult) -> None:
        report.stages.append(stage)
        if progress is not None:
            progress(stage)

    add(gpu_stage(gpu))
    nvrtc, compiled = nvrtc_stage(arch)
    add(nvrtc)
    if gpu is not None:
        add(driver_stage(gpu))
    task, candidate = selftest_task(), selftest_candidate()
    verdicts: dict[str, Verdict] = {}
    if compiled is None:
        for name in LOADER_NAMES:
            add(StageResult(name=f"loader {name}", status=StageStatus.skipped, detail=NO_CUBIN))
    else:
        with _shared_worker() as evaluate:
            for name in LOADER_NAMES:
                stage, verdict = loader_stage(
                    name, task, candidate, lambda loader: evaluate(loader, task, candidate)
                )
                add(stage)
                if verdict is not None and verdict.status == Status.ok:
                    verdicts[name] = verdict
    verdict = verdicts.get(DEFAULT_LOADER) or next(iter(verdicts.values()), None)
    if verdict is None:
        add(StageResult(name="ncu", status=StageStatus.skipped, detail=NOT_VERIFIED))
        add(StageResult(name="nvml", status=StageStatus.skipped, detail=NOT_VERIFIED))
    else:
        for which in ("ncu", "nvml"):
            try:
                add(_profiled_stage(which, task, candidate, verdict))
            except Exception as err:  # the profiler never raises by design; a diagnostic still says so
                text = f"{type(err).__name__}: {err}"
                add(
                    StageResult(
                        name=which, status=StageStatus.failed, detail=first_line(text), fix=fix_for(text)
                    )
                )
    report.seconds = round(time.perf_counter() - started, 1)
    return report


class _shared_worker:  # noqa: N801 -- used as a context manager, read as one
    """One fork server for every loader's evaluation (its start is most of a sandbox's fixed cost)."""

    def __enter__(self) -> Callable[[str, Task, Candidate], Verdict]:
        from kernelwright.sandbox.isolation.worker import WorkerClient

        self.worker = WorkerClient(0)
        return self.evaluate

    def evaluate(self, loader: str, task: Task, candidate: Candidate) -> Verdict:
        from kernelwright.sandbox.evaluate import Sandbox

        return Sandbox(selftest_sandbox(loader), worker=self.worker)(task, candidate)

    def __exit__(self, *exc: object) -> None:
        self.worker.close()


def _profiled_stage(which: str, task: Task, candidate: Candidate, verdict: Verdict) -> StageResult:
    from kernelwright.profiler.ncu import NcuConfig, ncu_status
    from kernelwright.profiler.profile import Profiler, ProfilerConfig

    start = time.perf_counter()
    config = ProfilerConfig(
        run_ncu=which == "ncu",
        run_power=which == "nvml",
        ncu=NcuConfig(calls=1, warmup_calls=2, timeout_s=90.0),
        power_min_seconds=1.0,
        power_max_seconds=5.0,
        power_timeout_s=60.0,
    )
    parts = Profiler(config).gather(task, candidate, verdict)
    if which == "ncu":
        run = parts.ncu
        stage = ncu_stage(
            run.message if run else None, bool(run and run.ok), run.launches if run else 0, ncu_status().path
        )
    else:
        power = parts.power
        stage = nvml_stage(
            power.power_w_median if power else None,
            power.energy_per_call_mj if power else None,
            parts.unavailable,
        )
    stage.seconds = round(time.perf_counter() - start, 2)
    return stage
