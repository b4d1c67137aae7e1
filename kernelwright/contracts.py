"""The typed records that flow between stages: Task -> Candidate -> Verdict -> Profile -> Attempt.

Every record is a pydantic model, so it round-trips through JSON (the sandbox worker sends a
Verdict back as JSON; the store keeps Verdicts and Profiles as JSON columns). Units are in the
field names (`_ms`, `_bytes`, `_usd`) so that no reader has to guess.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field


class Record(BaseModel):
    model_config = {"extra": "forbid"}


# ---------------------------------------------------------------- tasks


class ArgSpec(Record):
    """One argument of `get_inputs()` or `get_init_inputs()`, read without allocating."""

    kind: Literal["tensor", "int", "float", "bool", "str", "none", "other"]
    shape: list[int] | None = Field(None, description="Tensor shape; None for non-tensors.")
    dtype: str | None = Field(None, description="torch dtype name without the prefix, e.g. 'float32'.")
    value: str | None = Field(None, description="repr() of a non-tensor value.")

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape or []:
            n *= d
        return n


class Task(Record):
    """A KernelBench-format reference: `Model`, `get_inputs`, `get_init_inputs` in one file."""

    name: str = Field(description="File stem, e.g. '19_ReLU'.")
    level: int = Field(description="From the parent folder 'levelN'; 0 when the path has none.")
    task_id: int | None = Field(None, description="Leading number of the file name, if any.")
    path: str
    source: str
    source_sha256: str
    description: str = Field("", description="The module or Model docstring.")
    inputs: list[ArgSpec] = Field(default_factory=list)
    init_args: list[ArgSpec] = Field(default_factory=list)
    param_count: int | None = None
    atol: float | None = Field(None, description="Per-task tolerance override (module-level ATOL).")
    rtol: float | None = Field(None, description="Per-task tolerance override (module-level RTOL).")
    flops: float | None = Field(None, description="Per-call FLOP estimate (module-level FLOPS), if given.")

    @property
    def key(self) -> str:
        return f"level{self.level}/{self.name}"


# ---------------------------------------------------------------- candidates


class Candidate(Record):
    """Python source defining `ModelNew` with Model's constructor signature."""

    source: str
    build: Literal["native", "compat"] = Field(
        "native", description="native: CUDA C++ through NVRTC; compat: torch cpp_extension.load_inline."
    )
    origin: str = Field("file", description="Where it came from: 'file', 'coder', 'export' ...")


# ---------------------------------------------------------------- verdicts


class Status(StrEnum):
    ok = "ok"
    compile_error = "compile_error"
    runtime_error = "runtime_error"
    incorrect = "incorrect"
    rejected = "rejected"
    timeout = "timeout"
    crashed = "crashed"
    suspicious = "suspicious"


class KernelResources(Record):
    """Static resource usage of one compiled kernel (from ptxas or the cubin)."""

    name: str
    arch: str = Field(description="e.g. 'sm_90'.")
    registers_per_thread: int
    spill_stores_bytes: int = 0
    spill_loads_bytes: int = 0
    shared_bytes: int = Field(0, description="Static shared memory per block.")
    local_bytes: int = Field(0, description="Stack frame (local memory) per thread.")
    constant_bytes: int = Field(
        0, description="Constant memory: the kernel's bank 0 (parameters) plus the module's constant banks."
    )
    max_threads_per_block: int | None = Field(None, description="From __launch_bounds__, when declared.")


class GuardFinding(Record):
    """One static-guard hit; goes back to the Coder as feedback."""

    rule: str = Field(description="Stable rule id, e.g. 'side-stream', 'torch-op-in-forward'.")
    line: int | None = None
    where: Literal["python", "cuda"] = "python"
    message: str


class TrialResult(Record):
    """Correctness of one trial against the reference."""

    trial: int
    seed: int
    passed: bool
    max_abs_error: float | None = None
    max_rel_error: float | None = None
    mismatched: int = Field(0, description="Elements outside tolerance.")
    numel: int = 0


class TimingStats(Record):
    median_ms: float
    iqr_ms: float
    cv: float = Field(description="Coefficient of variation (stdev / mean).")
    trials: int
    min_ms: float | None = None


def speedup(baseline: TimingStats | None, candidate: TimingStats | None) -> float | None:
    """How many times faster the candidate's median is than the baseline's; None unless both exist
    and the candidate took measurable time. The one definition every speedup field is filled from."""
    if baseline is None or candidate is None or candidate.median_ms <= 0:
        return None
    return baseline.median_ms / candidate.median_ms


class TimingCheck(Record):
    """The runner's own per-call times set against the wall time the judge observed for the same
    calls: the runner may not claim to be faster than the judge saw, beyond the stated tolerance."""

    calls: int
    spot_checks: int = Field(
        description="Timed calls whose outputs the judge compared, drawn after each ran."
    )
    reported_median_ms: float = Field(description="Median of the runner's self-measured call times.")
    observed_low_ms: float = Field(
        description="Lower decile of (judge's wall time per call - harness overhead); delays only add."
    )
    overhead_ms: float = Field(
        description="Harness and pipe overhead per call, measured before the candidate loaded."
    )
    overhead_iqr_ms: float
    tolerance: str = Field(description="The rule applied, in words.")
    consistent: bool


class TuningTrial(Record):
    """One configuration of a candidate's TUNE declaration, as the sandbox judged it (docs/tuning.md)."""

    values: dict[str, int | float | str] = Field(description="The tuning value chosen for each name.")
    status: Status
    chosen: bool = Field(False, description="True for the configuration whose code and verdict were kept.")
    median_ms: float | None = Field(None, description="The candidate's median call time, when timed.")
    registers_per_thread: int | None = Field(None, description="Most registers of any of its kernels.")
    spill_bytes: int | None = Field(None, description="Spill stores plus loads, summed over its kernels.")
    occupancy_pct: float | None = Field(
        None, description="Theoretical occupancy of its least-occupied kernel, for the block size used."
    )
    elapsed_s: float | None = Field(None, description="Wall time of this configuration's evaluation.")
    message: str = Field("", description="The verdict's one sentence.")


class Verdict(Record):
    """What the sandbox concluded about one candidate. JSON-serialisable; never holds exceptions."""

    status: Status
    message: str = Field("", description="One sentence: why this status.")
    rule: str | None = Field(None, description="For rejected/suspicious: the rule or check that fired.")
    log: str = Field("", description="Trimmed compiler or runtime log, pointing at source lines.")
    findings: list[GuardFinding] = Field(default_factory=list)
    trials: list[TrialResult] = Field(default_factory=list)
    candidate_timing: TimingStats | None = None
    eager_timing: TimingStats | None = None
    compiled_timing: TimingStats | None = Field(None, description="torch.compile baseline, if measured.")
    speedup_vs_eager: float | None = None
    speedup_vs_compiled: float | None = None
    resources: list[KernelResources] = Field(default_factory=list)
    kernel_names: list[str] = Field(default_factory=list)
    device: str = "cpu"
    gpu_name: str | None = None
    elapsed_s: dict[str, float] = Field(default_factory=dict, description="Per stage: compile, verify, time.")
    isolation: list[str] = Field(
        default_factory=list, description="The walls that were up around the runner."
    )
    precision: str | None = Field(None, description="What the reference and candidate ran at, e.g. TF32 off.")
    timing_check: TimingCheck | None = None
    tuning: list[TuningTrial] = Field(
        default_factory=list,
        description="Every configuration tried when the candidate declared TUNE; this verdict is the chosen one's.",
    )

    @property
    def correct(self) -> bool:
        return self.status in (Status.ok, Status.suspicious)


# ---------------------------------------------------------------- profiles


class Metric(Record):
    source: Literal["ncu", "nvml", "static", "derived"]
    name: str
    value: float
    unit: str = ""
    kernel: str | None = None


class GPUIdentity(Record):
    name: str
    uuid: str | None = None
    driver: str | None = None
    cuda_version: str | None = None
    sm_count: int | None = None
    memory_mib: int | None = None
    compute_capability: str | None = Field(None, description="e.g. '9.0'.")


class Roofline(Record):
    bytes_moved: float
    flops: float | None
    runtime_ms: float
    pct_peak_bandwidth: float
    pct_peak_compute: float | None
    bound: Literal["memory", "compute", "latency"]
    sol_pct: float = Field(description="Speed of light: the larger of the two percentages.")
    estimated: bool = Field(False, description="True when bytes/FLOPs are estimates, not counters.")


class Profile(Record):
    gpu: GPUIdentity | None = None
    metrics: list[Metric] = Field(default_factory=list)
    roofline: Roofline | None = None
    occupancy_limiter: str | None = None
    unavailable: list[str] = Field(default_factory=list, description="One line per missing source.")
    digest: str = Field("", description="<=40 deterministic lines; what the Judge reads.")


# ---------------------------------------------------------------- attempts and LLM calls


class Attempt(Record):
    """One evaluated candidate of one run; written to the store the moment it finishes."""

    run_id: int
    task_key: str
    round: int
    candidate_index: int
    mode: Literal["repair", "optimize", "seed", "reeval"] = "seed"
    parent_attempt_id: int | None = None
    code: str
    verdict: Verdict
    profile: Profile | None = None
    gpu_name: str = Field("none", description="GPU the verdict was measured on; 'none' for compile-only.")
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    idea: str | None = Field(
        None,
        description="What this attempt tried, in a few words (the Judge's method); the history shows it.",
    )
    analysis: str | None = Field(None, description="The Judge's advice this attempt followed, in full.")


class LLMCall(Record):
    run_id: int | None = None
    role: Literal["coder", "judge"]
    model: str
    prompt: str = Field(description="The messages sent, as JSON text.")
    response: str | None = None
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    error: str | None = None
    created_at: datetime = Field(default_factory=lambda: datetime.now(UTC))
    finish_reason: str | None = Field(
        None, description="Why the endpoint stopped: 'stop', 'length' (cut off at the output cap) ..."
    )


class ChatReply(Record):
    """One completion as the loop sees it. A reply served again from the store costs nothing."""

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0
    latency_s: float = 0.0
    model: str = ""
    finish_reason: str | None = None


# ---------------------------------------------------------------- what the store reads back


class RunInfo(Record):
    """One run with its totals so far."""

    id: int
    config: dict[str, Any]
    coder_model: str
    judge_model: str
    gpu_name: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    attempts: int = Field(0, description="Attempts recorded for this run.")
    cost_usd: float = Field(0.0, description="Sum of its LLM calls' cost.")
    tokens: int = Field(0, description="Sum of its LLM calls' tokens in and out.")


class StoredAttempt(Record):
    """An attempt together with its store id (parents, metrics and exports refer to it)."""

    id: int
    attempt: Attempt


class BestEntry(Record):
    """The fastest correct attempt of one task on one GPU: one leaderboard row."""

    task_key: str
    task_name: str
    level: int
    gpu_name: str
    attempt_id: int
    run_id: int
    candidate_median_ms: float
    speedup_vs_eager: float | None
    speedup_vs_compiled: float | None
    updated_at: datetime


class Baseline(Record):
    """Cached reference timings of one task on one GPU under one torch version."""

    task_key: str
    gpu_name: str
    torch_version: str
    source_sha256: str = Field(description="The task source the timings were measured on.")
    eager: TimingStats | None
    compiled: TimingStats | None
    measured_at: datetime
