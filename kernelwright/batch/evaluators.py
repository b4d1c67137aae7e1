"""The evaluation pools the CLI wires: Sandboxes pinned per local GPU, Sandboxes inside Ray tasks, or
the compile-only static check. The sandbox owns process isolation; nothing here runs candidates."""

from __future__ import annotations

import os
import threading
from functools import partial
from typing import Any

from kernelwright.batch.pools import LocalPool, RayPool
from kernelwright.contracts import Candidate, Task, Verdict
from kernelwright.interfaces import Evaluator, ProfilerFn


def local_gpu_pool(
    gpu_indices: list[int], *, store: Any, with_profiler: bool = True, allow_torch: bool = False
) -> LocalPool:
    """One Sandbox (its own warm worker pinned by CUDA_VISIBLE_DEVICES) and one Profiler per
    selected GPU; `pool.profile` is then the batch's ProfilerFn."""
    from kernelwright.sandbox.config import SandboxConfig
    from kernelwright.sandbox.evaluate import Sandbox

    sandboxes: list[Evaluator] = [
        Sandbox(SandboxConfig(device="cuda", gpu_index=i, allow_torch=allow_torch), store=store)
        for i in gpu_indices
    ]
    profilers: list[ProfilerFn] | None = None
    if with_profiler:
        from kernelwright.profiler.profile import Profiler, ProfilerConfig

        profilers = [Profiler(ProfilerConfig(device_index=i)) for i in gpu_indices]
    pool = LocalPool(sandboxes, profilers=profilers, name="gpu")
    pool.owned = sandboxes  # type: ignore[attr-defined]
    return pool


def close_local_pool(pool: LocalPool) -> None:
    pool.close()
    for sandbox in getattr(pool, "owned", []):
        close = getattr(sandbox, "close", None)
        if callable(close):
            close()


def _static(arch: str, allow_torch: bool, task: Task, candidate: Candidate) -> Verdict:
    from kernelwright.sandbox.guard.static_check import static_verdict

    return static_verdict(task, candidate, arch=arch, allow_torch=allow_torch)


def compile_only_pool(arch: str, *, workers: int | None = None, allow_torch: bool = False) -> LocalPool:
    """Guard + NVRTC compile on the CPU (never runs candidate code), one thread per core."""
    n = workers or max(1, min(4, os.cpu_count() or 1))
    return LocalPool([partial(_static, arch, allow_torch) for _ in range(n)], name="compile")


# One Sandbox per Ray worker process: Ray gave the process its GPU through CUDA_VISIBLE_DEVICES,
# and index 0 of that list is the one GPU it may use; keeping it warm saves a fork server per task.
_ray_sandboxes: dict[str, Any] = {}
_ray_lock = threading.Lock()


def ray_sandbox(allow_torch: bool = False) -> Evaluator:
    """Runs inside a Ray task (num_gpus=1): the worker process's Sandbox, built on first use."""
    from kernelwright.sandbox.config import SandboxConfig
    from kernelwright.sandbox.evaluate import Sandbox

    key = f"{os.environ.get('CUDA_VISIBLE_DEVICES', '')}:{allow_torch}"
    with _ray_lock:
        if key not in _ray_sandboxes:
            _ray_sandboxes[key] = Sandbox(SandboxConfig(device="cuda", gpu_index=0, allow_torch=allow_torch))
        return _ray_sandboxes[key]


def ray_pool(address: str, *, allow_torch: bool = False) -> RayPool:
    return RayPool(partial(ray_sandbox, allow_torch), address=address)
