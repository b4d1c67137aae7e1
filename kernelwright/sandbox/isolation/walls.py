"""The walls the Linux kernel enforces around the runner: no_new_privs, a private network namespace,
Landlock and a two-stage seccomp filter.

Each wall is raised where the machine allows it and otherwise reported with one sentence, never
raised as an error: the verdict and `doctor` list what is up. The Python audit hooks remain a second
layer (and give the clear messages); these walls also stop what Python cannot see, such as a C++
TCP client (torch.distributed.TCPStore) or a ctypes ptrace call.

Bindings: pyseccomp (ctypes, API-compatible with libseccomp's own Python module) and py-landlock.
The `landlock` package (1.0.0.dev5) was not used: it decides a call failed by reading the thread's
errno instead of the return value, so a stale errno from any earlier ctypes call makes a successful
Landlock syscall raise; it never closes the ruleset descriptor; and it knows neither the TCP rules
(ABI 4) nor the signal scope (ABI 6).

Everything here that exists for CUDA says so in a comment marked "CUDA:".
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import glob
import json
import os
import platform
import select
import signal
import socket
import stat
import sys
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import kernelwright
from kernelwright.sandbox.build import compile_cache

try:
    import pyseccomp  # type: ignore[import-untyped]  # ctypes module without type information

    _seccomp: ModuleType | None = pyseccomp
except (ImportError, RuntimeError, OSError) as _err:  # RuntimeError: libseccomp.so is missing
    _seccomp = None
    _SECCOMP_MISSING = (
        f"libseccomp or its binding cannot be loaded ({_err}): install libseccomp2 and pyseccomp."
    )

try:
    import py_landlock
    from py_landlock import AccessFs

    _landlock: ModuleType | None = py_landlock
except ImportError as _err:
    _landlock = None
    _LANDLOCK_MISSING = f"the py-landlock binding is not installed ({_err})."
else:
    # py-landlock finds libc on first use with ctypes.util.find_library, which runs ldconfig: do it
    # now, in the fork server, rather than in every runner child.
    with contextlib.suppress(Exception):
        py_landlock.get_abi_version()

WALL_NAMES = ("no-new-privs", "network-namespace", "landlock", "seccomp", "seccomp-no-exec")

PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
CLONE_THREAD = 0x00010000
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000
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
PROBE_TIMEOUT_S = 20.0

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


class _Unavailable(Exception):
    """A wall this machine cannot raise; the message is the one sentence shown to the user."""


@dataclass(frozen=True)
class WallPlan:
    """What the runner may touch once the walls are up."""

    workdir: str
    """The runner's private directory: writable."""
    exchange_dir: str
    """Folder (on /dev/shm) where judge and runner exchange tensors: read and write."""
    device: Literal["cpu", "cuda"]
    read_dirs: tuple[str, ...] = ()
    """Extra read-only trees (the task's folder, caches) besides the defaults."""


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
        ("network-namespace", _enter_network_namespace),
        ("landlock", lambda: _restrict_filesystem(plan)),
        ("seccomp", _load_stage1),
    ]
    for name, step in steps:
        if name in layers:
            _attempt(report, name, step)
    _STATE.report = report
    _STATE.filters_after_stage1 = _seccomp_filter_counts().get(os.getpid())
    return report.copy()


def seal_after_load() -> WallsReport:
    """Stage 2, once the candidate is imported and built: no execve and no new processes, while
    threads keep working. Returns every wall now up in this process (raise_walls' report plus
    "seccomp-no-exec" or the reason it is missing)."""
    report = (_STATE.report or WallsReport()).copy()
    _attempt(report, "seccomp-no-exec", _load_stage2)
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


# -- shared plumbing ------------------------------------------------------------------------------


def _attempt(report: WallsReport, name: str, step: Callable[[], str | None]) -> None:
    try:
        detail = step()
    except _Unavailable as why:
        report.unavailable[name] = str(why)
        return
    except Exception as err:  # a wall that breaks is reported, never allowed to stop the runner
        report.unavailable[name] = f"it failed unexpectedly: {type(err).__name__}: {err}".splitlines()[0]
        return
    report.active.append(name)
    if detail:
        report.details[name] = detail


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _thread_count() -> int:
    """Threads of this process as the kernel counts them (C threads included)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def _refuse_if_threaded(what: str) -> None:
    threads = _thread_count()
    if threads > 1:
        raise _Unavailable(
            f"the process already runs {threads} threads and {what} only covers the calling thread: "
            "raise the walls before any thread starts."
        )


# -- no_new_privs ---------------------------------------------------------------------------------


def _set_no_new_privs() -> None:
    """No set-uid/set-gid or file-capability gains through exec; also what lets an unprivileged
    process load seccomp and Landlock."""
    libc = _libc()
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        code = ctypes.get_errno()
        raise _Unavailable(
            f"prctl(PR_SET_NO_NEW_PRIVS) failed ({os.strerror(code)}): Linux 3.5 or newer is needed."
        )
    if libc.prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1:
        raise _Unavailable("prctl(PR_SET_NO_NEW_PRIVS) returned success but the flag is not set.")


# -- network namespace ----------------------------------------------------------------------------


def _unshare(flags: int) -> None:
    if _libc().unshare(flags) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def _enter_network_namespace() -> str | None:
    """A namespace with only a loopback device, and that one down: no route anywhere, not even to
    127.0.0.1 or to abstract AF_UNIX sockets of the host. With CAP_SYS_ADMIN this is plain unshare;
    without it (a user, or root in a container) a user namespace that maps only our own ids makes
    it possible where the kernel allows one."""
    _refuse_if_threaded("unshare(CLONE_NEWNET)")
    try:
        _unshare(CLONE_NEWNET)
        return None
    except OSError as err:
        if err.errno != errno.EPERM:
            raise _Unavailable(
                f"unshare(CLONE_NEWNET) failed ({err.strerror}): the kernel may lack network namespaces."
            ) from err
    uid, gid = os.geteuid(), os.getegid()
    try:
        _unshare(CLONE_NEWUSER | CLONE_NEWNET)
    except OSError as err:
        raise _Unavailable(
            "a new network namespace needs CAP_SYS_ADMIN (root outside a container) or unprivileged "
            f"user namespaces, and this machine refused both ({err.strerror})."
        ) from err
    _map_own_ids(uid, gid)
    return "inside a user namespace that maps only the runner's own uid and gid"


def _map_own_ids(uid: int, gid: int) -> None:
    """Keeps file ownership meaning the same inside the new user namespace. A process that changed
    its uid (a root server dropping privileges) is not dumpable, which leaves its /proc/self files
    owned by root and the maps unwritable; dumpable is raised for the writes, then put back."""
    libc = _libc()
    dumpable = libc.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    try:
        for name, text in (
            ("setgroups", "deny"),
            ("uid_map", f"{uid} {uid} 1"),
            ("gid_map", f"{gid} {gid} 1"),
        ):
            with open(f"/proc/self/{name}", "w") as fh:
                fh.write(text)
    except OSError as err:
        raise _Unavailable(
            f"the runner entered a new user namespace but could not map its ids ({err.strerror}): "
            "its files may now show as owned by nobody."
        ) from err
    finally:
        libc.prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0)


# -- Landlock -------------------------------------------------------------------------------------

if _landlock is not None:
    _READ = AccessFs.READ_FILE | AccessFs.READ_DIR
    _READ_EXEC = _READ | AccessFs.EXECUTE
    # No EXECUTE: a binary the candidate drops in its folder cannot be run. No MAKE_CHAR/MAKE_BLOCK:
    # a root runner could otherwise mknod a disk and read it raw.
    _WRITE_TREE = (
        _READ
        | AccessFs.WRITE_FILE
        | AccessFs.TRUNCATE
        | AccessFs.MAKE_REG
        | AccessFs.MAKE_DIR
        | AccessFs.MAKE_SYM
        | AccessFs.MAKE_FIFO
        | AccessFs.REMOVE_FILE
        | AccessFs.REMOVE_DIR
        | AccessFs.REFER
    )
    _DEVICE_RW = AccessFs.READ_FILE | AccessFs.WRITE_FILE | AccessFs.TRUNCATE
    # CUDA: the driver opens /dev/nvidia* read-write and drives the GPU through ioctls on them
    # (IOCTL_DEV is handled from ABI 5 on, so it must be granted here explicitly).
    _CUDA_DEVICE = AccessFs.READ_FILE | AccessFs.WRITE_FILE | AccessFs.IOCTL_DEV
    _FILE_ONLY = (
        AccessFs.EXECUTE | AccessFs.WRITE_FILE | AccessFs.READ_FILE | AccessFs.TRUNCATE | AccessFs.IOCTL_DEV
    )

SYSTEM_EXEC_TREES = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/opt")
SYSTEM_READ_TREES = ("/etc", "/sys")
# Host-wide /proc files torch, glibc and CUDA read (cpu and memory facts, vm sysctls). The rest of
# /proc stays closed: other processes' environ, cmdline and memory.
PROC_FILES = (
    "/proc/cpuinfo",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/sys",
    "/proc/filesystems",
    "/proc/loadavg",
    "/proc/uptime",
    "/proc/version",
    # CUDA: the driver reads its parameters under /proc/driver/nvidia, and finds nvidia-uvm's device
    # number in /proc/devices and whether the module is loaded in /proc/modules.
    "/proc/driver",
    "/proc/devices",
    "/proc/modules",
)
DEV_FILES_RW = ("/dev/null", "/dev/zero", "/dev/full")
DEV_FILES_READ = ("/dev/random", "/dev/urandom")
PROJECT_MARKERS = (".git", "pyproject.toml", "setup.py", "setup.cfg")


def _restrict_filesystem(plan: WallPlan) -> str:
    """Writes only in workdir and the exchange folder; reads only the system, Python, kernelwright,
    the compile cache and the plan's folders. Applies the best ABI the kernel has, which from ABI 4
    also closes TCP bind/connect and from ABI 6 scopes signals and abstract sockets to the runner."""
    if _landlock is None:
        raise _Unavailable(_LANDLOCK_MISSING)
    abi = _landlock_abi()
    _refuse_if_threaded("Landlock")
    ruleset = _landlock.Landlock(strict=False)
    for path, access in filesystem_rules(plan):
        rights = access if os.path.isdir(path) else access & _FILE_ONLY
        with contextlib.suppress(_landlock.PathError):  # vanished since listed: nothing to allow
            ruleset.add_path_rule(path, access=rights)
    ruleset.apply()
    return _describe_abi(abi)


def _landlock_abi() -> int:
    assert _landlock is not None
    try:
        return int(_landlock.get_abi_version())
    except _landlock.LandlockDisabledError as err:
        raise _Unavailable(
            "Landlock is built into this kernel but disabled at boot: add landlock to the lsm= kernel parameter."
        ) from err
    except _landlock.LandlockNotAvailableError as err:
        raise _Unavailable(
            f"this kernel has no Landlock (Linux 5.13 or newer built with CONFIG_SECURITY_LANDLOCK is needed): {err}"
        ) from err


def _describe_abi(abi: int) -> str:
    extras = [
        what
        for level, what in ((3, "truncate"), (4, "TCP"), (5, "device ioctls"), (6, "signal scope"))
        if abi >= level
    ]
    return f"ABI {abi}" + (f" (files, {', '.join(extras)})" if extras else " (files only)")


def filesystem_rules(plan: WallPlan) -> list[tuple[str, Any]]:
    """(existing path, Landlock rights) pairs, before trimming to what the kernel's ABI knows."""
    rules: list[tuple[str, Any]] = []
    rules += [(p, _READ_EXEC) for p in (*SYSTEM_EXEC_TREES, *_python_trees(), *_cuda_toolkit_trees())]
    rules += [(p, _READ) for p in (*SYSTEM_READ_TREES, *_kernelwright_trees(), *plan.read_dirs)]
    rules += [(p, _READ) for p in (f"/proc/{os.getpid()}", *PROC_FILES)]
    rules += [("/dev", AccessFs.READ_DIR)]
    rules += [(p, _DEVICE_RW) for p in DEV_FILES_RW] + [(p, AccessFs.READ_FILE) for p in DEV_FILES_READ]
    if plan.device == "cuda":
        rules += [
            (p, _CUDA_DEVICE | (_READ if os.path.isdir(p) else 0)) for p in sorted(glob.glob("/dev/nvidia*"))
        ]
        # CUDA: under MPS the client reaches the daemon through files in its pipe directory.
        mps = os.environ.get("CUDA_MPS_PIPE_DIRECTORY", "/tmp/nvidia-mps")
        rules += [(mps, _READ | AccessFs.WRITE_FILE)]
    rules += [(p, _WRITE_TREE) for p in (plan.workdir, plan.exchange_dir)]
    return [(os.path.abspath(p), access) for p, access in rules if p and os.path.exists(p)]


def _python_trees() -> list[str]:
    """The interpreter, the standard library, site-packages and every library folder on sys.path;
    not the broad ones (the current folder, a project checkout, the home folder or its parents)."""
    trees = [sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix]
    trees.append(os.path.dirname(os.path.realpath(sys.executable)))
    trees += [p for p in sys.path if os.path.isabs(p) and os.path.exists(p) and not _is_broad(Path(p))]
    return list(dict.fromkeys(trees))


def _is_broad(path: Path) -> bool:
    """A folder that holds more than libraries: granting it would expose the user's own files."""
    path = path.resolve()
    outer = {Path("/"), Path.home().resolve(), *Path.home().resolve().parents}
    with contextlib.suppress(OSError):
        outer |= {Path.cwd().resolve(), *Path.cwd().resolve().parents}
    if path in outer:
        return True
    return path.is_dir() and any((path / marker).exists() for marker in PROJECT_MARKERS)


def _kernelwright_trees() -> list[str]:
    """The kernelwright package (an editable install lives inside a project checkout, which stays
    closed) and the compile cache, read-only: cached cubins are served, nothing is stored."""
    return [os.path.dirname(os.path.abspath(kernelwright.__file__)), str(compile_cache.cache_dir())]


def _cuda_toolkit_trees() -> list[str]:
    """CUDA: NVRTC reads the toolkit's headers and a load_inline build runs nvcc from here."""
    return [p for p in (os.environ.get("CUDA_HOME"), os.environ.get("CUDA_PATH")) if p]


# -- seccomp --------------------------------------------------------------------------------------


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
            raise _Unavailable(_SECCOMP_MISSING)
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
                raise _Unavailable(
                    f"the kernel refused the {what} filter: it lacks CONFIG_SECCOMP_FILTER."
                ) from err
            raise _Unavailable(f"loading the {what} filter failed: {err.strerror or err}.") from err
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


def _load_stage1() -> str | None:
    return stage1_rules().load("seccomp")


def _load_stage2() -> str | None:
    """Loads stage 2 and checks that it took: the candidate has run code by now, and a filter of
    its own could have made our load a silent no-op."""
    before = _seccomp_filter_counts()
    expected = _STATE.filters_after_stage1
    if expected is not None and any(n != expected for n in before.values()):
        raise _Unavailable("a thread carries a seccomp filter the runner did not load (the candidate's own).")
    detail = stage2_rules().load("no-exec")
    after = _seccomp_filter_counts()
    if expected is not None and any(n != expected + 1 for n in after.values()):
        raise _Unavailable("the no-exec filter did not reach every thread.")
    _check_exec_denied()
    return detail


def _check_exec_denied() -> None:
    try:
        os.execv("/", ["/"])  # a directory: without the filter this fails with EACCES, never runs
    except OSError as err:
        if err.errno == errno.EPERM:
            return
        raise _Unavailable(
            f"execve still reaches the kernel after the no-exec filter ({err.strerror})."
        ) from err


def _seccomp_filter_counts() -> dict[int, int]:
    """Seccomp filters stacked on each thread (kernel 5.9+; empty on older kernels)."""
    counts: dict[int, int] = {}
    with contextlib.suppress(OSError):
        for tid in os.listdir("/proc/self/task"):
            with contextlib.suppress(OSError), open(f"/proc/self/task/{tid}/status") as fh:
                for line in fh:
                    if line.startswith("Seccomp_filters:"):
                        counts[int(tid)] = int(line.split()[1])
    return counts


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
