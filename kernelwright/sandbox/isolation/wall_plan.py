"""What every kernel wall around the runner shares (walls.py raises them): the plan of what the
runner may touch, the exception for a wall this machine cannot raise, libc, and the check that the
caller is still single-threaded where a wall only covers the calling thread."""

from __future__ import annotations

import ctypes
import os
from dataclasses import dataclass
from typing import Literal


class WallUnavailable(Exception):
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


def libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def thread_count() -> int:
    """Threads of this process as the kernel counts them (C threads included)."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1


def refuse_if_threaded(what: str) -> None:
    threads = thread_count()
    if threads > 1:
        raise WallUnavailable(
            f"the process already runs {threads} threads and {what} only covers the calling thread: "
            "raise the walls before any thread starts."
        )
