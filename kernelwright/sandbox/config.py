"""Settings of the sandbox evaluator, and the job record the parent hands to the isolated worker."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from kernelwright.contracts import TimingStats


class SandboxConfig(BaseModel):
    """How candidates are isolated, verified and timed."""

    model_config = {"extra": "forbid"}

    device: Literal["cuda", "cpu"] = "cuda"
    """Where the candidate and the reference run; 'cpu' exercises the protocol on pure-PyTorch code."""
    gpu_index: int = 0
    """Which GPU the worker is pinned to (CUDA_VISIBLE_DEVICES holds only this one)."""
    arch: str | None = None
    """Target arch for the static compile (e.g. 'sm_90'); None: the worker GPU's, else sm_90."""
    allow_torch: bool = False
    """Switch off the PyTorch-op rule and the launch check (for PyTorch-level rewrites); every other
    guard rule and dynamic check still applies."""
    trials: int = Field(5, ge=1)
    """Correctness trials, each with a fresh seed drawn from os.urandom (the protocol wants >= 5;
    fewer only for quick GPU profiling runs, never for a verdict that gets stored)."""
    shape_trial: bool = True
    """Add one trial with the task's size constants changed, so a hard-coded shape fails."""
    shape_trial_max_numel: int = 1 << 18
    """Element budget (inputs plus parameters) of the shape-generalisation variant."""
    compile_timeout_s: float = 300.0
    """Wall-time limit for loading: importing the candidate (where a load_inline file builds its
    extension) and constructing ModelNew. Native CUDA is compiled before the runner starts."""
    run_timeout_s: float = 120.0
    """Wall-time limit for everything from the first forward call on: verification and timing."""
    call_timeout_s: float = 30.0
    """Wall-time limit of any single operation after loading (one forward call, one trial), so a
    spinning forward is a timeout in seconds, not at the end of run_timeout_s."""
    memory_limit_gb: float | None = 16.0
    """Address-space limit of the worker child (RLIMIT_AS on CPU, RLIMIT_DATA on CUDA, whose driver
    reserves huge virtual ranges); None for no limit."""
    max_processes: int = 64
    """Processes the child's group may hold before it is killed as a fork bomb (root ignores
    RLIMIT_NPROC, so the server counts them). A load_inline build runs ninja and nvcc in the group,
    with MAX_JOBS=4 unless set."""
    output_limit_chars: int = 4000
    """Tail of the candidate's stdout/stderr kept in the verdict log."""
    timing: bool = True
    """Time the candidate and the eager reference (interleaved) after verification."""
    warmup_calls: int = 3
    """Untimed calls of each model before timing."""
    timing_min_calls: int = 100
    """Timed calls of each model, at least (together with timing_min_seconds)."""
    timing_min_seconds: float = 1.0
    """Seconds of timed calls, at least (together with timing_min_calls)."""
    timing_max_seconds: float = 20.0
    """Stop timing after this long even if timing_min_calls is not reached (slow kernels)."""
    timing_spot_checks: int = 12
    """Expected number of timed calls whose outputs the judge compares with the reference; each call
    is drawn after it ran, with probability timing_spot_checks / timing_min_calls."""
    timing_loops: int = Field(3, ge=1, le=5)
    """Timed loops, at most, before the runner's times are refused: a loop the judge's own clock
    disagrees with is run again (a burst of load passes; a misreporting runner disagrees every time)."""
    torch_compile_baseline: bool = False
    """Also time torch.compile(Model); cached per (task, GPU, torch version) in the store."""
    speedup_suspicious: float = 10.0
    """A speedup over eager above this makes the verdict `suspicious`, never `ok`."""
    launch_min_own_fraction: float = 0.5
    """Share of GPU kernel time the candidate's own kernels must take (launch check, level 1)."""
    launch_min_own_fraction_fused: float = 0.2
    """The same for level-2/3 tasks, which may keep some PyTorch layers."""
    audit: bool = True
    """Audit hooks in the child that block and report network, process, kill, write-outside-workdir
    and introspection attempts by candidate code. Off only to prove other defences in tests."""
    skip_guard: bool = False
    """Skip the static guard so that the dynamic checks are proven on their own (tests only)."""
    loader: Literal["cuda-python", "cupy", "pycuda"] = "cuda-python"
    """Library that loads a native candidate's NVRTC cubin and launches its kernels
    (kernelwright.sandbox.loaders); all three launch the same cubin on torch's current stream."""


class WorkerJob(BaseModel):
    """Everything the judge and runner children need; no secrets, no DB URL."""

    task_source: str
    task_filename: str = "reference.py"
    candidate_source: str
    device: Literal["cuda", "cpu"] = "cpu"
    trials: int = 5
    shape_trial: bool = True
    shape_trial_max_numel: int = 1 << 18
    atol: float | None = None
    rtol: float | None = None
    timing: bool = True
    warmup_calls: int = 3
    timing_min_calls: int = 100
    timing_min_seconds: float = 1.0
    timing_max_seconds: float = 20.0
    timing_spot_checks: int = 12
    timing_loops: int = 3
    eager_timing: TimingStats | None = None
    """The eager reference's timing on this device from an earlier evaluation of the same task."""
    call_timeout_s: float = 30.0
    seal_before_load: bool = True
    """Raise the no-exec/no-socket seal before the candidate is imported (native candidates); a
    load_inline file builds its extension while it is imported, so its seal follows the load."""
    torch_compile_baseline: bool = False
    launch_check: bool = False
    launch_min_own_fraction: float = 0.5
    own_kernel_names: list[str] = Field(default_factory=list)
    audit: bool = True
    data_limit_after_cuda_init_bytes: int | None = None
    loader: str = "cuda-python"
    """Fixed in the runner before the candidate is imported (kernelwright.sandbox.loaders.selection)."""


class WorkerLimits(BaseModel):
    """Per-evaluation limits the fork server enforces on the child."""

    compile_timeout_s: float = 300.0
    run_timeout_s: float = 120.0
    memory_limit_bytes: int | None = None
    memory_limit_kind: Literal["as", "data"] = "as"
    max_processes: int = 64
    output_limit_chars: int = 4000
