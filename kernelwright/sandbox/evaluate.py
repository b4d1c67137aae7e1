"""The sandbox evaluator (interfaces.Evaluator): static guard and compile in this process (no
candidate code runs here), then one evaluation in the warm fork server, where a runner child loads the
candidate behind OS walls and a judge child that never sees candidate code verifies and times it and
writes the Verdict; then the rules only the parent applies (speedup limit, roofline, baseline cache).
"""

from __future__ import annotations

import importlib.metadata
import time
from typing import Any

from kernelwright.contracts import Candidate, Status, Task, TimingStats, Verdict, speedup
from kernelwright.gpu.arch import arch_for_capability
from kernelwright.gpu.availability import require_gpu
from kernelwright.gpu.target import DEFAULT_ARCH
from kernelwright.interfaces import BaselineCache
from kernelwright.sandbox.config import SandboxConfig, WorkerJob, WorkerLimits
from kernelwright.sandbox.isolation.worker import WorkerClient
from kernelwright.sandbox.loaders import require_loader


def _gpu_identity(index: int) -> tuple[str | None, str | None]:
    """(name, arch like 'sm_90') of the worker's GPU, from NVML."""
    from kernelwright.gpu.nvml import list_gpus

    gpus = list_gpus()
    if index >= len(gpus):
        return None, None
    gpu = gpus[index]
    arch = arch_for_capability(gpu.compute_capability) if gpu.compute_capability else None
    return gpu.name, arch


def torch_version() -> str:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def suspicious_rule(
    verdict: Verdict, config: SandboxConfig, io_bytes: int | None, gpu_name: str | None
) -> tuple[str, str] | None:
    """(rule, sentence) when a correct verdict's speed is not believable without re-verification."""
    speedup = verdict.speedup_vs_eager
    if speedup is not None and speedup > config.speedup_suspicious:
        return "speedup-limit", (
            f"{speedup:.1f}x faster than PyTorch eager exceeds the {config.speedup_suspicious:g}x "
            "limit; re-verify before trusting it"
        )
    timing = verdict.candidate_timing
    if timing is None or not io_bytes or not gpu_name or verdict.device != "cuda":
        return None
    from kernelwright.gpu.specs import lookup_spec

    spec = lookup_spec(gpu_name)
    if spec is None:
        return None
    floor_ms = io_bytes / (spec.dram_bandwidth_gbs * 1e9) * 1e3
    if timing.median_ms < floor_ms:
        return "beats-roofline", (
            f"{timing.median_ms:.4f} ms is below the {floor_ms:.4f} ms needed to move "
            f"{io_bytes} bytes at {spec.dram_bandwidth_gbs:g} GB/s on {spec.name}"
        )
    return None


def verdict_from_reply(reply: dict[str, Any]) -> tuple[Verdict, dict[str, Any]]:
    """The judge's Verdict, or one describing the server's timeout or kill; plus the judge's extra
    figures. Only the judge writes `payload`: nothing the runner sends reaches here."""
    outcome = reply.get("outcome")
    payload = reply.get("payload") or {}
    if outcome == "result" and "verdict" in payload:
        verdict = Verdict.model_validate(payload["verdict"])
        if verdict.rule == "process-died" and reply.get("runner_exit"):
            verdict.message = verdict.message.replace("died", str(reply["runner_exit"]), 1)
    elif outcome == "timeout":
        verdict = Verdict(
            status=Status.timeout,
            rule="run-time-limit",
            message=reply.get("message", "the candidate timed out"),
        )
    else:
        verdict = Verdict(
            status=Status.crashed,
            rule="process-died",
            message=reply.get("message", "the candidate's process died without a verdict"),
        )
    streams = []
    for name in ("stdout", "stderr"):
        text = (reply.get(name) or "").strip()
        if text:
            streams.append(f"--- candidate {name} ---\n{text}")
    if outcome != "result" and (reply.get("judge_stderr") or "").strip():
        streams.append(f"--- sandbox judge stderr ---\n{reply['judge_stderr'].strip()}")
    if streams:
        verdict.log = "\n".join(filter(None, [verdict.log, *streams]))
    for stage, seconds in (reply.get("elapsed_s") or {}).items():
        verdict.elapsed_s.setdefault(f"worker_{stage}", seconds)
    return verdict, {k: v for k, v in payload.items() if k != "verdict"}


def _build_of(candidate: Candidate) -> str:
    from kernelwright.sandbox.build.candidate_source import CandidateSyntaxError, detect_build

    try:
        return detect_build(candidate.source)
    except CandidateSyntaxError:
        return candidate.build


def _own_kernel_names(candidate: Candidate, static: Verdict) -> list[str]:
    """What the launch check counts as the candidate's kernels: those the parent compiled, and every
    `__global__` function its CUDA sources declare by name. The parent compiles with NVRTC; a kernel
    behind `#ifndef __CUDACC_RTC__` is missing there but runs under the runner's nvcc."""
    from kernelwright.sandbox.build.candidate_source import CandidateSyntaxError, cuda_sources
    from kernelwright.sandbox.runner.kernel_params import parse_kernel_params

    try:
        declared = [name for source in cuda_sources(candidate.source) for name in parse_kernel_params(source)]
    except CandidateSyntaxError:
        declared = []
    return list(dict.fromkeys([*static.kernel_names, *declared]))


def _runs_nvcc_at_load(candidate: Candidate) -> bool:
    """pycuda's SourceModule runs nvcc while ModelNew is built: like a load_inline file, such a
    candidate is sealed after its load (docs/trust-model.md)."""
    from kernelwright.sandbox.build.candidate_source import CandidateSyntaxError, runs_nvcc_at_load

    try:
        return runs_nvcc_at_load(candidate.source)
    except CandidateSyntaxError:
        return False


def _compile_only(candidate: Candidate, arch: str, *, allow_torch: bool) -> Verdict:
    """Compile without the guard (skip_guard): kernel names and resources for the launch check."""
    from kernelwright.sandbox.build.candidate_source import (
        CandidateSyntaxError,
        builder_options,
        cuda_sources,
        detect_build,
    )
    from kernelwright.sandbox.guard.static_check import compile_cuda_source

    try:
        build, sources = detect_build(candidate.source), cuda_sources(candidate.source)
        options = builder_options(candidate.source)
    except CandidateSyntaxError as err:
        return Verdict(status=Status.compile_error, message=str(err))
    results = [
        compile_cuda_source(source, build, arch, options=options.get(source, ())) for source in sources
    ]
    failed = next((r for r in results if not r.ok), None)
    if failed is not None:
        return Verdict(
            status=Status.compile_error, message="the CUDA source failed to compile", log=failed.log
        )
    if not results and not allow_torch:
        return Verdict(status=Status.compile_error, message="no CUDA source found")
    return Verdict(
        status=Status.ok,
        resources=[k for r in results for k in r.resources],
        kernel_names=[n for r in results for n in r.kernel_names],
    )


class Sandbox:
    """Evaluates candidates against their task in an isolated worker; one evaluation at a time."""

    def __init__(
        self,
        config: SandboxConfig | None = None,
        *,
        store: BaselineCache | None = None,
        worker: WorkerClient | None = None,
    ):
        """`store` caches the torch.compile baseline; `worker` shares a fork server between sandboxes
        (it must be pinned to the same GPU), else one is started on first use."""
        self.config = config or SandboxConfig()
        if self.config.device == "cuda":
            require_loader(self.config.loader)  # before a run spends anything on candidates
        self.store = store
        gpu = self.config.gpu_index if self.config.device == "cuda" else None
        self._owns_worker = worker is None
        self._client = worker or WorkerClient(gpu)
        # The eager reference's timing per (task source, device): every judge measures it the same
        # way, so one measurement serves every later candidate of the task in this sandbox.
        self._eager: dict[tuple[str, str | None], TimingStats] = {}

    def close(self) -> None:
        if self._owns_worker:
            self._client.close()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __call__(self, task: Task, candidate: Candidate) -> Verdict:
        cfg = self.config
        if cfg.device == "cuda":
            require_gpu("--device cuda", "use --device cpu")
        started = time.perf_counter()
        gpu_name, gpu_arch = _gpu_identity(cfg.gpu_index) if cfg.device == "cuda" else (None, None)
        static = self._static(task, candidate, cfg.arch or gpu_arch or DEFAULT_ARCH)
        if static.status != Status.ok:
            static.device = cfg.device
            static.elapsed_s["static"] = time.perf_counter() - started
            return static
        # Baselines are cached per (task, device, torch version); the CPU counts as one device.
        device_label = gpu_name if cfg.device == "cuda" else "cpu"
        cached_compiled = self._cached_baseline(task, device_label)
        job = self._job(
            task, candidate, static, measure_compiled=cfg.torch_compile_baseline and cached_compiled is None
        )
        job.eager_timing = self._eager.get((task.source_sha256, device_label))
        reply = self._client.run(job, self._limits())
        verdict, extra = verdict_from_reply(reply)
        if verdict.eager_timing is not None and job.eager_timing is None:
            self._eager[(task.source_sha256, device_label)] = verdict.eager_timing
        verdict.findings = static.findings + verdict.findings
        verdict.resources, verdict.kernel_names = static.resources, static.kernel_names
        verdict.elapsed_s["static"] = static.elapsed_s.get("static", 0.0)
        self._apply_baseline(task, verdict, cached_compiled, device_label)
        if verdict.status == Status.ok:
            rule = suspicious_rule(verdict, cfg, extra.get("io_bytes"), extra.get("gpu_name") or gpu_name)
            if rule is not None:
                verdict.status, verdict.rule, verdict.message = Status.suspicious, rule[0], rule[1]
        verdict.elapsed_s["total"] = time.perf_counter() - started
        return verdict

    # ------------------------------------------------------------ stages

    def _static(self, task: Task, candidate: Candidate, arch: str) -> Verdict:
        """C1's guard + compile on the CPU; with skip_guard (tests only) the guard's findings are
        ignored so the dynamic checks face the candidate alone."""
        from kernelwright.sandbox.guard.static_check import static_verdict

        started = time.perf_counter()
        verdict = static_verdict(task, candidate, arch=arch, allow_torch=self.config.allow_torch)
        if self.config.skip_guard and verdict.status == Status.rejected:
            verdict = _compile_only(candidate, arch, allow_torch=self.config.allow_torch)
        verdict.elapsed_s["static"] = time.perf_counter() - started
        return verdict

    def _limits(self) -> WorkerLimits:
        cfg = self.config
        memory = int(cfg.memory_limit_gb * (1 << 30)) if cfg.memory_limit_gb else None
        return WorkerLimits(
            compile_timeout_s=cfg.compile_timeout_s,
            run_timeout_s=cfg.run_timeout_s,
            memory_limit_bytes=memory,
            memory_limit_kind="data" if cfg.device == "cuda" else "as",
            max_processes=cfg.max_processes,
            output_limit_chars=cfg.output_limit_chars,
        )

    def _job(self, task: Task, candidate: Candidate, static: Verdict, *, measure_compiled: bool) -> WorkerJob:
        cfg = self.config
        min_fraction = cfg.launch_min_own_fraction if task.level <= 1 else cfg.launch_min_own_fraction_fused
        return WorkerJob(
            task_source=task.source,
            task_filename=f"{task.name or 'reference'}.py",
            candidate_source=candidate.source,
            device=cfg.device,
            trials=cfg.trials,
            shape_trial=cfg.shape_trial,
            shape_trial_max_numel=cfg.shape_trial_max_numel,
            atol=task.atol,
            rtol=task.rtol,
            timing=cfg.timing,
            warmup_calls=cfg.warmup_calls,
            timing_min_calls=cfg.timing_min_calls,
            timing_min_seconds=cfg.timing_min_seconds,
            timing_max_seconds=cfg.timing_max_seconds,
            timing_spot_checks=cfg.timing_spot_checks,
            timing_loops=cfg.timing_loops,
            call_timeout_s=cfg.call_timeout_s,
            seal_before_load=_build_of(candidate) == "native" and not _runs_nvcc_at_load(candidate),
            torch_compile_baseline=measure_compiled,
            launch_check=cfg.device == "cuda" and not cfg.allow_torch,
            launch_min_own_fraction=min_fraction,
            own_kernel_names=_own_kernel_names(candidate, static),
            audit=cfg.audit,
            loader=cfg.loader,
            data_limit_after_cuda_init_bytes=self._limits().memory_limit_bytes
            if cfg.device == "cuda"
            else None,
        )

    def _cached_baseline(self, task: Task, gpu_name: str | None) -> Any | None:
        if not (self.config.torch_compile_baseline and self.store is not None and gpu_name):
            return None
        cached = self.store.get_baseline(task.key, gpu_name, torch_version())
        return cached.compiled if cached is not None else None

    def _apply_baseline(
        self, task: Task, verdict: Verdict, cached_compiled: Any | None, device_label: str | None
    ) -> None:
        """Uses the cached torch.compile timing, or stores a fresh one (the parent alone sees the DB)."""
        if not self.config.torch_compile_baseline or verdict.candidate_timing is None:
            return
        if cached_compiled is not None:
            verdict.compiled_timing = cached_compiled
        elif self.store is not None and verdict.compiled_timing is not None and device_label:
            self.store.add_task(task)
            self.store.put_baseline(
                task.key,
                device_label,
                torch_version(),
                eager=verdict.eager_timing,
                compiled=verdict.compiled_timing,
            )
        verdict.speedup_vs_compiled = speedup(verdict.compiled_timing, verdict.candidate_timing)
