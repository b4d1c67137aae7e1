"""Running a profiled child (it executes candidate code) in its own process group, killed as a
group on timeout, output decoded with errors='replace', with no secrets in its environment."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from typing import NamedTuple


class ChildResult(NamedTuple):
    returncode: int | None
    """None when the time limit killed the group."""
    stdout: str
    stderr: str


def run_in_group(
    cmd: list[str], *, cwd: str, env: dict[str, str] | None, timeout_s: float, merge: bool = False
) -> ChildResult:
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT if merge else subprocess.PIPE,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout_s)
        code: int | None = proc.returncode
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        code = None
    return ChildResult(code, (out or b"").decode(errors="replace"), (err or b"").decode(errors="replace"))


def child_env(device_index: int) -> dict[str, str]:
    """Environment of a profiled child: candidate code runs there, so no secrets (the sandbox's
    scrub list), and only the profiled GPU visible, numbered as NVML numbers it (within the devices the
    user left visible)."""
    from kernelwright.sandbox.isolation.worker import pinned_device, scrub_environment

    env = scrub_environment(os.environ)
    env.update(CUDA_DEVICE_ORDER="PCI_BUS_ID", CUDA_VISIBLE_DEVICES=pinned_device(os.environ, device_index))
    return env
