"""Inside the forked child: lock the process down, then run the correctness and timing protocols.

Everything here runs after `os.setsid()` in a fresh process group; the fork server kills that group
on timeout. The child reports on one pipe, as JSON lines tagged with the evaluation's nonce.
"""

from __future__ import annotations

import json
import os
import resource
from collections.abc import Callable
from typing import Any

from kernelwright.sandbox.config import WorkerJob, WorkerLimits
from kernelwright.sandbox.isolation.worker import scrub_environment

STDOUT_NAME = ".kw-stdout"
STDERR_NAME = ".kw-stderr"
FILE_SIZE_LIMIT_BYTES = 1 << 30


def _redirect_fds(workdir: str, keep: int) -> None:
    """stdin from /dev/null, stdout/stderr to files; every other inherited descriptor closed, so the
    candidate cannot write to the server's protocol pipe."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    out = os.open(os.path.join(workdir, STDOUT_NAME), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    err = os.open(os.path.join(workdir, STDERR_NAME), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.dup2(out, 1)
    os.dup2(err, 2)
    for fd in (devnull, out, err):
        if fd > 2 and fd != keep:
            os.close(fd)
    os.closerange(3, keep)
    os.closerange(keep + 1, 1 << 16)


def _limit_resources(limits: WorkerLimits) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Bounds the captured stdout/stderr files (and anything else it writes) so a candidate that
    # prints forever cannot fill the disk; a torch extension build stays far below this.
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT_BYTES, FILE_SIZE_LIMIT_BYTES))
    # On CUDA the limit (RLIMIT_DATA) is set by verify.load once the CUDA context exists: the driver
    # reserves huge address ranges at init, which an address-space limit would refuse.
    if limits.memory_limit_bytes and limits.memory_limit_kind == "as":
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_limit_bytes, limits.memory_limit_bytes))
    # No RLIMIT_NPROC: root ignores it and for other users it counts all their processes; the server
    # counts the group's processes instead.


def setup_process(limits: WorkerLimits, workdir: str, result_fd: int) -> None:
    """Private working directory, captured output, limits and a secret-free environment."""
    _redirect_fds(workdir, result_fd)
    clean = scrub_environment(os.environ)
    os.environ.clear()
    os.environ.update(clean)
    os.environ["TMPDIR"] = workdir
    # Keep legitimate helpers under the process-count limit: inductor's compile-worker pool and a
    # load_inline build's parallel nvcc jobs would otherwise scale with the machine's cores.
    os.environ["TORCHINDUCTOR_COMPILE_THREADS"] = "1"
    os.environ.setdefault("MAX_JOBS", "4")
    os.chdir(workdir)
    _limit_resources(limits)


def reporter(result_fd: int, nonce: str) -> Callable[[dict[str, Any]], None]:
    """Writes one JSON line to the server; loops because a large verdict exceeds one pipe write."""

    def send(message: dict[str, Any]) -> None:
        data = (json.dumps({**message, "nonce": nonce}) + "\n").encode()
        while data:
            written = os.write(result_fd, data)
            data = data[written:]

    return send


def run(job: dict[str, Any], nonce: str, workdir: str, result_fd: int) -> None:
    """Runs one evaluation and sends its result."""
    send = reporter(result_fd, nonce)
    send({"phase": "alive"})
    from kernelwright.sandbox import verify

    result = verify.evaluate_job(WorkerJob.model_validate(job), workdir, lambda name: send({"phase": name}))
    send({"result": result})
