"""The evaluation pool a batch's target calls for: the compile-only static check on this machine's
cores, an evaluator per local GPU, or Ray tasks on a cluster. Which evaluator judges a candidate is
agents/wiring.py's choice; this module only spreads the work. Nothing here runs candidates."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from functools import partial

from kernelwright.agents.wiring import OwnedEvaluator, evaluator_for, profiler_for
from kernelwright.batch.pools import LocalPool, RayPool
from kernelwright.gpu.target import Target
from kernelwright.interfaces import BaselineCache, Evaluator, ProfilerFn


@dataclass
class BatchEvaluation:
    """`pool` judges candidates (safe from many threads); `profile` profiles correct ones on the GPU
    that is free (None: not profiled); `close()` releases the pool and the evaluators it owns."""

    pool: LocalPool | RayPool
    profile: ProfilerFn | None = None
    owned: list[OwnedEvaluator] = field(default_factory=list)

    @property
    def workers(self) -> int:
        return self.pool.stats.workers

    def close(self) -> None:
        self.pool.close()
        for evaluator in self.owned:
            evaluator.close()


def open_pool(
    target: Target, store: BaselineCache, *, with_profiler: bool = True, loader: str = "cuda-python"
) -> BatchEvaluation:
    if target.compile_only:
        # guard + NVRTC on the CPU, one thread per core (up to four)
        workers = max(1, min(4, os.cpu_count() or 1))
        checks = [evaluator_for(target) for _ in range(workers)]
        return BatchEvaluation(LocalPool(checks, name="compile"), owned=checks)
    if target.device == "cpu":
        # One CPU sandbox: parallel evaluations would time each other's load, not the candidates.
        sandbox = evaluator_for(target, store=store, loader=loader)
        return BatchEvaluation(LocalPool([sandbox], name="cpu"), owned=[sandbox])
    if target.ray_address is not None:
        return BatchEvaluation(RayPool(partial(ray_evaluator, target, loader), address=target.ray_address))
    # One Sandbox (its own warm worker pinned by CUDA_VISIBLE_DEVICES) and one Profiler per GPU.
    sandboxes = [evaluator_for(target, gpu_index=i, store=store, loader=loader) for i in target.gpu_indices]
    profilers = [profiler_for(i) for i in target.gpu_indices] if with_profiler else None
    pool = LocalPool(sandboxes, profilers=profilers, name="gpu")
    return BatchEvaluation(pool, pool.profile if with_profiler else None, owned=list(sandboxes))


# One evaluator per Ray worker process: Ray gave the process its GPU through CUDA_VISIBLE_DEVICES,
# and index 0 of that list is the one GPU it may use; keeping it warm saves a fork server per task.
_ray_evaluators: dict[str, Evaluator] = {}
_ray_lock = threading.Lock()


def ray_evaluator(target: Target, loader: str = "cuda-python") -> Evaluator:
    """Runs inside a Ray task (num_gpus=1): the worker process's evaluator, built on first use. Only
    the driver writes the store, so it has none."""
    key = f"{os.environ.get('CUDA_VISIBLE_DEVICES', '')}/{loader}"
    with _ray_lock:
        if key not in _ray_evaluators:
            _ray_evaluators[key] = evaluator_for(target, gpu_index=0, loader=loader)
        return _ray_evaluators[key]
