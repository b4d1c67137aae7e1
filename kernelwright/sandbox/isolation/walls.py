"""The walls the Linux kernel enforces around the runner: no_new_privs, a private network namespace,
Landlock and a two-stage seccomp filter. This module is their public face (raise_walls,
seal_after_load, probe) and holds no_new_privs and the probe; each other wall lives beside it:
network_namespace.py, landlock_rules.py and seccomp_filter.py, sharing wall_plan.py.

Each wall is raised where the machine allows it and otherwise reported with one sentence, never
raised as an error: the verdict and `doctor` list what is up. The Python audit hooks remain a second
layer (and give the clear messages); these walls also stop what Python cannot see, such as a C++
TCP client (torch.distributed.TCPStore) or a ctypes ptrace call.

Bindings: pyseccomp (ctypes, API-compatible with libseccomp's own Python module) and py-landlock;
landlock_rules.py says why the `landlock` package was not used.

Everything in these modules that exists for CUDA says so in a comment marked "CUDA:".
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import select
import signal
import tempfile
import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import asdict, dataclass, field

from kernelwright.sandbox.isolation.landlock_rules import filesystem_rules, restrict_filesystem
from kernelwright.sandbox.isolation.network_namespace import CLONE_NEWUSER, enter_network_namespace
from kernelwright.sandbox.isolation.seccomp_filter import (
    load_stage1,
    load_stage2,
    other_values,
    seccomp_filter_counts,
)
from kernelwright.sandbox.isolation.wall_plan import WallPlan, WallUnavailable, libc

# The public API. CLONE_NEWUSER, filesystem_rules and other_values live in the wall modules now and
# are re-exported for callers that imported them from here before the split.
__all__ = [
    "CLONE_NEWUSER",
    "PROBE_TIMEOUT_S",
    "WALL_NAMES",
    "WallPlan",
    "WallsReport",
    "filesystem_rules",
    "other_values",
    "probe",
    "raise_walls",
    "seal_after_load",
]

WALL_NAMES = ("no-new-privs", "network-namespace", "landlock", "seccomp", "seccomp-no-exec")

PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
PROBE_TIMEOUT_S = 20.0


@dataclass
class WallsReport:
    """Which walls are up, in the order applied, and one sentence for each one that is not."""

    active: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)
    """Extra facts about an active wall (the Landlock ABI, a user namespace)."""

    def copy(self) -> WallsReport:
        return WallsReport(list(self.active), dict(self.unavailable), dict(self.details))


@dataclass
class _State:
    """What raise_walls leaves for seal_after_load in this process."""

    report: WallsReport | None = None
    filters_after_stage1: int | None = None


_STATE = _State()


def raise_walls(plan: WallPlan, *, layers: Collection[str] = WALL_NAMES) -> WallsReport:
    """Raises no_new_privs, a network namespace, Landlock and seccomp stage 1, in that order, in the
    calling process. Call it single-threaded, after setsid() and before any candidate code is
    imported or CUDA is initialised. `layers` (default: all) exists for tests of one wall alone.
    Never raises for a wall the machine lacks: the report says why it is missing."""
    report = WallsReport()
    steps: list[tuple[str, Callable[[], str | None]]] = [
        ("no-new-privs", _set_no_new_privs),
        ("network-namespace", enter_network_namespace),
        ("landlock", lambda: restrict_filesystem(plan)),
        ("seccomp", load_stage1),
    ]
    for name, step in steps:
        if name in layers:
            _attempt(report, name, step)
    _STATE.report = report
    _STATE.filters_after_stage1 = seccomp_filter_counts().get(os.getpid())
    return report.copy()


def seal_after_load() -> WallsReport:
    """Stage 2, once the candidate is imported and built: no execve and no new processes, while
    threads keep working. Returns every wall now up in this process (raise_walls' report plus
    "seccomp-no-exec" or the reason it is missing)."""
    report = (_STATE.report or WallsReport()).copy()
    _attempt(report, "seccomp-no-exec", lambda: load_stage2(_STATE.filters_after_stage1))
    _STATE.report = report
    return report.copy()


def probe(timeout_s: float = PROBE_TIMEOUT_S) -> WallsReport:
    """What this machine permits: every wall applied in a throwaway forked child; the caller is
    left untouched. A probe that dies or hangs reports every wall as unavailable, with why."""
    with tempfile.TemporaryDirectory(prefix="kw-walls-probe-") as work, _exchange_folder() as exchange:
        plan = WallPlan(workdir=work, exchange_dir=exchange, device="cpu")
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_fd)
            _probe_child(plan, write_fd)
        os.close(write_fd)
        try:
            data = _read_all(read_fd, time.monotonic() + timeout_s)
        finally:
            os.close(read_fd)
        why = _finish_child(pid, data is None)
    if why is None and data:
        with contextlib.suppress(ValueError, TypeError):
            return WallsReport(**json.loads(data))
        why = "it answered something unreadable"
    reason = f"the probe process {why or 'sent no report'}."
    return WallsReport(unavailable=dict.fromkeys(WALL_NAMES, reason))


# -- one wall at a time ---------------------------------------------------------------------------


def _attempt(report: WallsReport, name: str, step: Callable[[], str | None]) -> None:
    try:
        detail = step()
    except WallUnavailable as why:
        report.unavailable[name] = str(why)
        return
    except Exception as err:  # a wall that breaks is reported, never allowed to stop the runner
        report.unavailable[name] = f"it failed unexpectedly: {type(err).__name__}: {err}".splitlines()[0]
        return
    report.active.append(name)
    if detail:
        report.details[name] = detail


# -- no_new_privs ---------------------------------------------------------------------------------


def _set_no_new_privs() -> None:
    """No set-uid/set-gid or file-capability gains through exec; also what lets an unprivileged
    process load seccomp and Landlock."""
    lib = libc()
    if lib.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        code = ctypes.get_errno()
        raise WallUnavailable(
            f"prctl(PR_SET_NO_NEW_PRIVS) failed ({os.strerror(code)}): Linux 3.5 or newer is needed."
        )
    if lib.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1:
        raise WallUnavailable("prctl(PR_SET_NO_NEW_PRIVS) returned success but the flag is not set.")


# -- probe ----------------------------------------------------------------------------------------


@contextlib.contextmanager
def _exchange_folder() -> Iterator[str]:
    shm = "/dev/shm"
    parent = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
    with tempfile.TemporaryDirectory(prefix="kw-walls-probe-", dir=parent) as folder:
        yield folder


def _probe_child(plan: WallPlan, write_fd: int) -> None:
    """Runs in the forked probe child; never returns."""
    code = 1
    try:
        os.setsid()
        raise_walls(plan)
        data = json.dumps(asdict(seal_after_load())).encode()
        while data:
            data = data[os.write(write_fd, data) :]
        code = 0
    finally:
        os._exit(code)


def _read_all(fd: int, deadline: float) -> bytes | None:
    """Everything written until the pipe closes; None when the deadline passes first."""
    chunks: list[bytes] = []
    while (remaining := deadline - time.monotonic()) > 0:
        if not select.select([fd], [], [], remaining)[0]:
            break
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)
    return None


def _finish_child(pid: int, timed_out: bool) -> str | None:
    """Reaps the probe child; says what went wrong, or None when it exited cleanly."""
    if timed_out:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if timed_out:
        return "did not finish in time"
    if os.WIFSIGNALED(status):
        return f"was killed by {signal.Signals(os.WTERMSIG(status)).name}"
    if os.WEXITSTATUS(status) != 0:
        return f"failed (exit status {os.WEXITSTATUS(status)})"
    return None
