"""The system-call wall around the runner, a seccomp filter in two stages. Stage 1 (loaded with
the other walls, before any candidate code runs) denies new non-AF_UNIX sockets, tracing,
namespaces, mounts, kernel keys and modules, and signals outside the runner's process group.
Stage 2 (the seal, once the candidate is imported and built) adds no execve, no new process and no
new socket, and is checked to have reached every thread.

Binding: pyseccomp (ctypes, API-compatible with libseccomp's own Python module).

Everything here that exists for CUDA says so in a comment marked "CUDA:".
"""

from __future__ import annotations

import contextlib
import errno
import os
import platform
import socket
import stat
from collections.abc import Iterable
from types import ModuleType
from typing import Any

from kernelwright.sandbox.isolation.network_namespace import CLONE_NEWNET, CLONE_NEWUSER
from kernelwright.sandbox.isolation.wall_plan import WallUnavailable

try:
    import pyseccomp  # type: ignore[import-untyped]  # ctypes module without type information

    _seccomp: ModuleType | None = pyseccomp
except (ImportError, RuntimeError, OSError) as _err:  # RuntimeError: libseccomp.so is missing
    _seccomp = None
    _SECCOMP_MISSING = (
        f"libseccomp or its binding cannot be loaded ({_err}): install libseccomp2 and pyseccomp."
    )

CLONE_THREAD = 0x00010000
# Flags of clone() that create namespaces: a new user namespace would hand the candidate every
# capability inside it, and with it mount and unshare.
NAMESPACE_CLONE_FLAGS = (
    0x00020000,
    0x02000000,
    0x04000000,
    0x08000000,
    CLONE_NEWUSER,
    0x20000000,
    CLONE_NEWNET,
)
SECCOMP_FILTER_FLAG_NEW_LISTENER = 1 << 3
FILE_TYPE_BITS = 0o170000  # S_IFMT as a number (the stat module only has it as a function)
# clone(2) takes its flags first everywhere except on s390, where the stack pointer comes first.
CLONE_FLAGS_ARG = 1 if platform.machine().startswith("s390") else 0

# Stage 1: calls nobody in the runner needs, denied with EPERM. Left allowed on purpose, for CUDA:
# ioctl (the driver's whole API on /dev/nvidia*), mmap/mprotect/madvise (device and UVM mappings),
# and socket(AF_UNIX) (see _SOCKET_FAMILY_KEPT).
DENIED_STAGE1 = (
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "process_madvise",
    "kcmp",
    "pidfd_open",
    "pidfd_getfd",
    "pidfd_send_signal",
    "tkill",
    "mount",
    "umount",
    "umount2",
    "pivot_root",
    "chroot",
    "fsopen",
    "fsconfig",
    "fsmount",
    "fspick",
    "open_tree",
    "move_mount",
    "mount_setattr",
    "unshare",
    "setns",
    "bpf",
    "keyctl",
    "add_key",
    "request_key",
    "init_module",
    "finit_module",
    "delete_module",
    "kexec_load",
    "kexec_file_load",
    "reboot",
    "swapon",
    "swapoff",
    "perf_event_open",
    # io_uring runs socket and file operations in kernel workers, where seccomp never sees them.
    "io_uring_setup",
    "io_uring_enter",
    "io_uring_register",
    # A root runner could open any file by handle, past Landlock's path checks (the "shocker" escape).
    "open_by_handle_at",
    "name_to_handle_at",
    "userfaultfd",
    "fanotify_init",
    "iopl",
    "ioperm",
    "acct",
    "quotactl",
    "syslog",
    "vhangup",
    # A root runner could move the clock under the judge's timers.
    "settimeofday",
    "clock_settime",
    "clock_adjtime",
    "adjtimex",
    "sethostname",
    "setdomainname",
)
# CUDA: the driver's MPS and persistenced clients speak over AF_UNIX sockets; the runner's own
# protocol needs no socket at all (a pipe and files in the exchange folder).
_SOCKET_FAMILY_KEPT = socket.AF_UNIX


def other_values(allowed: Iterable[int], bits: int = 32) -> list[tuple[int, int]]:
    """(mask, value) pairs such that `x & mask == value` for one of them exactly when the low `bits`
    of x are none of `allowed`. libseccomp allows one comparison per argument in a rule, so "deny
    unless the pid is one of these" is written as one masked-equality rule per pair."""
    full = (1 << bits) - 1
    cubes: list[tuple[int, int]] = []

    def split(prefix: int, depth: int, members: set[int]) -> None:
        if depth == bits:
            return
        shift = bits - 1 - depth
        bit, mask = 1 << shift, full ^ ((1 << shift) - 1)
        for side in (0, bit):
            inside = {v for v in members if v & bit == side}
            if inside:
                split(prefix | side, depth + 1, inside)
            else:
                cubes.append((mask, prefix | side))

    split(0, 0, {v & full for v in allowed})
    return cubes


class _Rules:
    """A seccomp filter being built (default: allow), and the syscalls this libseccomp cannot name."""

    def __init__(self) -> None:
        if _seccomp is None:
            raise WallUnavailable(_SECCOMP_MISSING)
        self.sc: Any = _seccomp
        self.filter = self.sc.SyscallFilter(self.sc.ALLOW)
        self.unnamed: list[str] = []
        # TSYNC puts the filter on every thread: by stage 2 CUDA, torch and the candidate have threads.
        self.filter.set_attr(self.sc.Attr.CTL_TSYNC, 1)
        with contextlib.suppress(OSError):  # libseccomp < 2.5 reports kernel errors as ECANCELED
            self.filter.set_attr(self.sc.Attr.API_SYSRAWRC, 1)
        with contextlib.suppress(OSError):  # a foreign-ABI syscall (int 0x80) ends the process
            self.filter.set_attr(self.sc.Attr.ACT_BADARCH, self.sc.KILL_PROCESS)

    def deny(self, name: str, code: int, *args: Any) -> None:
        number = self.sc.resolve_syscall(self.sc.Arch.NATIVE, name)
        if number == -1:  # newer than this libseccomp: it cannot be filtered by name
            self.unnamed.append(name)
            return
        self.filter.add_rule(self.sc.ERRNO(code), number, *args)

    def deny_unless_first_arg(self, name: str, allowed: Iterable[int]) -> None:
        for mask, value in other_values(allowed):
            self.deny(name, errno.EPERM, self.sc.Arg(0, self.sc.MASKED_EQ, mask, value))

    def load(self, what: str) -> str | None:
        try:
            self.filter.load()
        except OSError as err:
            if err.errno == errno.EINVAL:
                raise WallUnavailable(
                    f"the kernel refused the {what} filter: it lacks CONFIG_SECCOMP_FILTER."
                ) from err
            raise WallUnavailable(f"loading the {what} filter failed: {err.strerror or err}.") from err
        unnamed = sorted(set(self.unnamed))
        return f"not filtered (unknown to this libseccomp): {', '.join(unnamed)}" if unnamed else None


def stage1_rules() -> _Rules:
    """Default allow; deny new non-AF_UNIX sockets, tracing, namespaces, mounts, kernel keys and
    modules, and signals to anything outside the runner's own process group. The pid the rules
    name is the caller's: build them in the runner after setsid(), where pid == pgid."""
    rules = _Rules()
    sc, pid = rules.sc, os.getpid()
    rules.deny("socket", errno.EPERM, sc.Arg(0, sc.NE, _SOCKET_FAMILY_KEPT))
    for name in DENIED_STAGE1:
        rules.deny(name, errno.EPERM)
    # kill(0), kill(own pid) and kill(-own pgid) only. The kernel reads pid as a 32-bit int and
    # glibc may sign- or zero-extend it, hence the comparison on the low 32 bits.
    rules.deny_unless_first_arg("kill", {0, pid, -pid})
    for name in ("tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo"):
        rules.deny_unless_first_arg(name, {pid})
    for flag in NAMESPACE_CLONE_FLAGS:
        rules.deny("clone", errno.EPERM, sc.Arg(CLONE_FLAGS_ARG, sc.MASKED_EQ, flag, flag))
    # clone3 passes its flags in memory, where seccomp cannot look: ENOSYS makes glibc fall back
    # to clone(), whose flags the rules above check (as container runtimes do).
    rules.deny("clone3", errno.ENOSYS)
    for kind in (stat.S_IFCHR, stat.S_IFBLK):  # device nodes: a root runner could read a raw disk
        rules.deny("mknod", errno.EPERM, sc.Arg(1, sc.MASKED_EQ, FILE_TYPE_BITS, kind))
        rules.deny("mknodat", errno.EPERM, sc.Arg(2, sc.MASKED_EQ, FILE_TYPE_BITS, kind))
    # A filter with a user-space listener could answer our own stage-2 load with a fake success.
    flag = SECCOMP_FILTER_FLAG_NEW_LISTENER
    rules.deny("seccomp", errno.EPERM, sc.Arg(1, sc.MASKED_EQ, flag, flag))
    return rules


def stage2_rules() -> _Rules:
    """No execve, no new process and no new socket of any family; clone with CLONE_THREAD (a thread)
    stays allowed. CUDA: the driver opens its AF_UNIX connections (MPS) when the context is created,
    which happens before this stage, so from here on no family is needed."""
    rules = _Rules()
    sc = rules.sc
    rules.deny("socket", errno.EPERM)
    for name in ("execve", "execveat", "fork", "vfork"):
        rules.deny(name, errno.EPERM)
    rules.deny("clone", errno.EPERM, sc.Arg(CLONE_FLAGS_ARG, sc.MASKED_EQ, CLONE_THREAD, 0))
    rules.deny("clone3", errno.ENOSYS)
    return rules


def load_stage1() -> str | None:
    return stage1_rules().load("seccomp")


def load_stage2(expected: int | None) -> str | None:
    """Loads stage 2 and checks that it took: the candidate has run code by now, and a filter of
    its own could have made our load a silent no-op. `expected` is the number of filters each
    thread carried right after stage 1 (None where the kernel does not say)."""
    before = seccomp_filter_counts()
    if expected is not None and any(n != expected for n in before.values()):
        raise WallUnavailable(
            "a thread carries a seccomp filter the runner did not load (the candidate's own)."
        )
    detail = stage2_rules().load("no-exec")
    after = seccomp_filter_counts()
    if expected is not None and any(n != expected + 1 for n in after.values()):
        raise WallUnavailable("the no-exec filter did not reach every thread.")
    _check_exec_denied()
    return detail


def _check_exec_denied() -> None:
    try:
        os.execv("/", ["/"])  # a directory: without the filter this fails with EACCES, never runs
    except OSError as err:
        if err.errno == errno.EPERM:
            return
        raise WallUnavailable(
            f"execve still reaches the kernel after the no-exec filter ({err.strerror})."
        ) from err


def seccomp_filter_counts() -> dict[int, int]:
    """Seccomp filters stacked on each thread (kernel 5.9+; empty on older kernels)."""
    counts: dict[int, int] = {}
    with contextlib.suppress(OSError):
        for tid in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError), open(f"/proc/self/task/{tid}/status") as fh:
                for line in fh:
                    if line.startswith("Seccomp_filters:"):
                        counts[int(tid)] = int(line.split()[1])
    return counts
