"""Running a compile in a forked child, so a compiler crash or hang costs one verdict, not the CLI.

NVRTC runs the whole compiler (front end, NVVM, ptxas) inside the calling process, and candidate
source is hostile: an internal compiler error that segfaults, or a template bomb that never ends,
would otherwise take the optimize loop down with it. A fork costs a few milliseconds (the NVRTC
library is already loaded), where spawning a fresh interpreter would cost more than the compile.
Inside the sandbox worker this is not used: that process is already isolated and may not fork.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import pickle
import select
import signal
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


class ForkedCallError(RuntimeError):
    """The child crashed, was killed, or did not answer in time; the message says which."""


def call_in_fork(fn: Callable[[], T], timeout_s: float) -> T:
    """`fn()` evaluated in a forked child and returned by pickle; raises ForkedCallError on failure."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: never returns into the caller's code
        os.close(read_fd)
        faulthandler.disable()  # a compiler crash is reported by the parent, without a dump
        status = 0
        try:
            payload = pickle.dumps(fn(), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as out:
                out.write(payload)
        except BaseException:
            status = 1
        os._exit(status)
    os.close(write_fd)
    try:
        data = _read_until(read_fd, time.monotonic() + timeout_s)
    finally:
        os.close(read_fd)
    if data is None:
        _kill(pid)
        raise ForkedCallError(f"the compiler did not finish within {timeout_s:g} s")
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        name = signal.Signals(os.WTERMSIG(status)).name
        raise ForkedCallError(f"the compiler crashed ({name}) on this source")
    if os.WEXITSTATUS(status) != 0 or not data:
        raise ForkedCallError("the compiler failed internally on this source")
    result: T = pickle.loads(data)
    return result


def _read_until(fd: int, deadline: float) -> bytes | None:
    """Everything the child writes until it closes the pipe; None when the deadline passes first."""
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
