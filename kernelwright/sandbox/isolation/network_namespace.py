"""The network wall around the runner: a private network namespace with only a loopback device, and
that one down. Entered with plain unshare where the process has CAP_SYS_ADMIN, otherwise through a
user namespace that maps only the runner's own uid and gid."""

from __future__ import annotations

import ctypes
import errno
import os

from kernelwright.sandbox.isolation.wall_plan import WallUnavailable, libc, refuse_if_threaded

PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
CLONE_NEWNET = 0x40000000
CLONE_NEWUSER = 0x10000000


def _unshare(flags: int) -> None:
    if libc().unshare(flags) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))


def enter_network_namespace() -> str | None:
    """A namespace with only a loopback device, and that one down: no route anywhere, not even to
    127.0.0.1 or to abstract AF_UNIX sockets of the host. With CAP_SYS_ADMIN this is plain unshare;
    without it (a user, or root in a container) a user namespace that maps only our own ids makes
    it possible where the kernel allows one."""
    refuse_if_threaded("unshare(CLONE_NEWNET)")
    try:
        _unshare(CLONE_NEWNET)
        return None
    except OSError as err:
        if err.errno != errno.EPERM:
            raise WallUnavailable(
                f"unshare(CLONE_NEWNET) failed ({err.strerror}): the kernel may lack network namespaces."
            ) from err
    uid, gid = os.geteuid(), os.getegid()
    try:
        _unshare(CLONE_NEWUSER | CLONE_NEWNET)
    except OSError as err:
        raise WallUnavailable(
            "a new network namespace needs CAP_SYS_ADMIN (root outside a container) or unprivileged "
            f"user namespaces, and this machine refused both ({err.strerror})."
        ) from err
    _map_own_ids(uid, gid)
    return "inside a user namespace that maps only the runner's own uid and gid"


def _map_own_ids(uid: int, gid: int) -> None:
    """Keeps file ownership meaning the same inside the new user namespace. A process that changed
    its uid (a root server dropping privileges) is not dumpable, which leaves its /proc/self files
    owned by root and the maps unwritable; dumpable is raised for the writes, then put back."""
    lib = libc()
    dumpable = lib.prctl(PR_GET_DUMPABLE, 0, 0, 0, 0)
    lib.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
    try:
        for name, text in (
            ("setgroups", "deny"),
            ("uid_map", f"{uid} {uid} 1"),
            ("gid_map", f"{gid} {gid} 1"),
        ):
            with open(f"/proc/self/{name}", "w") as fh:
                fh.write(text)
    except OSError as err:
        raise WallUnavailable(
            f"the runner entered a new user namespace but could not map its ids ({err.strerror}): "
            "its files may now show as owned by nobody."
        ) from err
    finally:
        lib.prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0)
