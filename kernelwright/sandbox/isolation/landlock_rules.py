"""The filesystem wall around the runner: Landlock rules that let it write only in its private
folder and the exchange folder, and read only the system, Python, kernelwright, the compile cache
and the plan's folders; the best ABI the kernel has is applied (ABI 4 adds TCP bind/connect rules,
ABI 6 the signal and abstract-socket scope).

Binding: py-landlock. The `landlock` package (1.0.0.dev5) was not used: it decides a call failed by
reading the thread's errno instead of the return value, so a stale errno from any earlier ctypes
call makes a successful Landlock syscall raise; it never closes the ruleset descriptor; and it knows
neither the TCP rules (ABI 4) nor the signal scope (ABI 6).

Everything here that exists for CUDA says so in a comment marked "CUDA:".
"""

from __future__ import annotations

import contextlib
import glob
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import kernelwright
from kernelwright.sandbox.build import compile_cache
from kernelwright.sandbox.isolation.wall_plan import WallPlan, WallUnavailable, refuse_if_threaded

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


def restrict_filesystem(plan: WallPlan) -> str:
    """Writes only in workdir and the exchange folder; reads only the system, Python, kernelwright,
    the compile cache and the plan's folders. Applies the best ABI the kernel has, which from ABI 4
    also closes TCP bind/connect and from ABI 6 scopes signals and abstract sockets to the runner."""
    if _landlock is None:
        raise WallUnavailable(_LANDLOCK_MISSING)
    abi = _landlock_abi()
    refuse_if_threaded("Landlock")
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
        raise WallUnavailable(
            "Landlock is built into this kernel but disabled at boot: add landlock to the lsm= kernel parameter."
        ) from err
    except _landlock.LandlockNotAvailableError as err:
        raise WallUnavailable(
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
