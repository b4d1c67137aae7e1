"""Setting up the two children of one evaluation after the fork: descriptors, environment, directory,
limits; then, for the runner, its walls and its loop.

Both children run after `os.setsid()` in process groups of their own, so the fork server can kill
each group whole and the runner cannot signal the judge (seccomp allows signals to its own group only).
"""

from __future__ import annotations

import os
import resource
import tempfile
from typing import Any

from kernelwright.sandbox.config import WorkerJob, WorkerLimits
from kernelwright.sandbox.isolation.worker import scrub_environment

STDOUT_NAME = ".kw-stdout"
STDERR_NAME = ".kw-stderr"
FILE_SIZE_LIMIT_BYTES = 1 << 30
# Walls the harness always has; the kernel's walls (walls.py) are added where the machine allows.
BASE_ISOLATION = ("process-group", "private-dir", "scrubbed-env", "rlimits")


def _redirect_fds(workdir: str, keep: tuple[int, ...]) -> None:
    """stdin from /dev/null, stdout/stderr to files; every other inherited descriptor closed, so the
    child keeps only its own pipes."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    out = os.open(os.path.join(workdir, STDOUT_NAME), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err = os.open(os.path.join(workdir, STDERR_NAME), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(err, 2)
    for fd in (devnull, out, err):
        if fd > 2 and fd not in keep:
            os.close(fd)
    low = 3
    for fd in sorted(keep):
        os.closerange(low, fd)
        low = fd + 1
    os.closerange(low, 1 << 16)


def _limit_resources(limits: WorkerLimits) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Bounds the captured stdout/stderr files (and anything else it writes) so a candidate that
    # prints forever cannot fill the disk; a torch extension build stays far below this.
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT_BYTES, FILE_SIZE_LIMIT_BYTES))
    # On CUDA the limit (RLIMIT_DATA) is set once the CUDA context exists: the driver reserves huge
    # address ranges at init, which an address-space limit would refuse.
    if limits.memory_limit_bytes and limits.memory_limit_kind == "as":
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_limit_bytes, limits.memory_limit_bytes))
    # No RLIMIT_NPROC: root ignores it and for other users it counts all their processes; the server
    # counts the group's processes instead.


def setup_process(limits: WorkerLimits | None, workdir: str, keep: tuple[int, ...]) -> None:
    """Private working directory, captured output, limits and a secret-free environment."""
    _redirect_fds(workdir, keep)
    clean = scrub_environment(os.environ)
    os.environ.clear()
    os.environ.update(clean)
    os.environ["TMPDIR"] = workdir
    # tempfile caches its directory on first use (the server may have used it): the nvcc fallback and
    # inductor must write where this child is allowed to.
    tempfile.tempdir = workdir
    # Keep legitimate helpers under the process-count limit: inductor's compile-worker pool and a
    # load_inline build's parallel nvcc jobs would otherwise scale with the machine's cores.
    os.environ["TORCHINDUCTOR_COMPILE_THREADS"] = "1"
    os.environ.setdefault("MAX_JOBS", "4")
    os.chdir(workdir)
    if limits is not None:
        _limit_resources(limits)


def _walls(job: WorkerJob, workdir: str, exchange: str) -> tuple[dict[str, Any], Any]:
    """Raises the kernel's walls; returns the report for the judge and the stage-2 seal."""
    try:
        from kernelwright.sandbox.isolation import walls
    except ImportError as err:  # the walls' bindings are missing: say so, keep the other layers
        active = list(BASE_ISOLATION) + (["audit-hooks"] if job.audit else [])
        return {"active": active, "unavailable": {"walls": str(err)}}, lambda: []
    report = walls.raise_walls(walls.WallPlan(workdir=workdir, exchange_dir=exchange, device=job.device))
    active = list(BASE_ISOLATION) + list(report.active) + (["audit-hooks"] if job.audit else [])

    def seal() -> list[str]:
        return list(walls.seal_after_load().active)

    return {"active": active, "unavailable": dict(report.unavailable)}, seal


def runner_main(
    job: WorkerJob, limits: WorkerLimits, workdir: str, exchange: str, read_fd: int, write_fd: int
) -> None:
    """The runner child: walls up while it is still one thread, then CUDA, then its loop."""
    setup_process(limits, workdir, (read_fd, write_fd))
    # Behind Landlock only the private directory is writable: the caches a load_inline build, triton
    # and the CUDA driver's JIT write to live there (and so never carry one candidate's files to the next).
    for name, sub in (("TORCH_EXTENSIONS_DIR", "torch_extensions"), ("TRITON_CACHE_DIR", "triton"),
                      ("CUDA_CACHE_PATH", "nv_cache")):  # fmt: skip
        os.environ[name] = os.path.join(workdir, sub)
    report, seal = _walls(job, workdir, exchange)
    from kernelwright.sandbox.precision import use_full_fp32

    use_full_fp32()  # as the judge's reference runs
    if job.device == "cuda":
        import torch

        torch.cuda.init()
        torch.cuda.set_device(0)
        torch.empty(1, device="cuda")  # creates the context before the memory limit applies
        if job.data_limit_after_cuda_init_bytes:
            limit = job.data_limit_after_cuda_init_bytes
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    from kernelwright.sandbox.runner.serve import run
    from kernelwright.sandbox.wire import Channel

    run(job, workdir, exchange, Channel(read_fd, write_fd), report, seal)
