"""The warm fork server: imports torch (and cupy) once, never initialises CUDA, forks one child per
evaluation and supervises it (wall-time limits per phase, process count, group kill).

Protocol: JSON lines. Requests on stdin: {"id", "job", "limits"}. Replies on the original stdout:
{"event": "ready"} once, then per request {"event": "started", "pgid"} and {"event": "done", ...}.
Run as `python -m kernelwright.sandbox.isolation.server`; the parent (worker.WorkerClient) spawns it in
a new session with a scrubbed environment.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import secrets
import select
import shutil
import signal
import sys
import tempfile
import time
from typing import Any

from kernelwright.sandbox.config import WorkerLimits

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
_POLL_S = 0.02


def _prctl(option: int, value: int) -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0)


def _warm_imports() -> None:
    """What every child needs, imported once here so a fork is ready in milliseconds. Importing
    torch and cupy does not create a CUDA context, so forking afterwards stays safe."""
    import numpy  # noqa: F401
    import torch  # noqa: F401

    import kernelwright.sandbox.isolation.child  # noqa: F401

    # Modules that patch torch functions when first imported (dynamo wraps torch.manual_seed) are
    # imported here, before the child's snapshot, so that their patches are part of the baseline.
    for optional in (
        "torch._dynamo",
        "torch.utils.cpp_extension",
        "torch.profiler",
        "cupy",
        "kernelwright.sandbox.native",
        "kernelwright.sandbox.launch_check",
        "kernelwright.sandbox.verify",
        "kernelwright.sandbox.timing",
        "kernelwright.sandbox.runner.audit_hooks",
        "kernelwright.kernelbench.sizes",
    ):
        with contextlib.suppress(Exception):
            __import__(optional)


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes whose process group is `pgid`, read from /proc."""
    members = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode(errors="replace")
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry))
    return members


def reap_orphans() -> None:
    """As a child subreaper the server inherits the candidate's orphans; reap them so that none
    lingers as a zombie."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def kill_group(pgid: int) -> None:
    """SIGKILL the whole group until no live member is left (a fork bomb keeps adding members)."""
    for _ in range(200):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        reap_orphans()
        if not group_members(pgid):
            return
        time.sleep(0.005)


def _kill_and_wait(pid: int) -> None:
    kill_group(pid)
    with contextlib.suppress(ChildProcessError):  # reap_orphans may have collected it already
        os.waitpid(pid, 0)


def _tail(path: str, limit: int) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit * 4))
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    if len(text) > limit or size > limit * 4:
        return "[...truncated...]\n" + text[-limit:]
    return text


def _child(job: dict[str, Any], limits: WorkerLimits, workdir: str, result_w: int, nonce: str) -> None:
    """Runs in the forked child; never returns."""
    code = 70
    try:
        os.setsid()
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        from kernelwright.sandbox.isolation import child as worker_child

        worker_child.setup_process(limits, workdir, result_w)
        worker_child.run(job, nonce, workdir, result_w)
        code = 0
    except BaseException as err:  # the child must never unwind into the server's loop
        with contextlib.suppress(Exception):
            os.write(2, f"worker child failed: {type(err).__name__}: {err}\n".encode())
    finally:
        os._exit(code)


class _Supervision:
    """State of one running child as the server watches it."""

    def __init__(self, pid: int, result_r: int, limits: WorkerLimits, received: float):
        self.pid = pid
        self.result_r = result_r
        self.limits = limits
        self.received = received
        self.phase = "load"
        self.deadline = time.monotonic() + limits.compile_timeout_s
        self.buffer = b""
        self.payload: dict[str, Any] | None = None
        self.ready_s: float | None = None
        self.phase_started = time.monotonic()
        self.elapsed: dict[str, float] = {}
        self.detail = ""

    def feed(self, data: bytes, nonce: str) -> None:
        self.buffer += data
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            try:
                message = json.loads(line)
            except ValueError:
                continue
            self._on_message(message, nonce)

    def _on_message(self, message: dict[str, Any], nonce: str) -> None:
        if message.get("nonce") != nonce:
            return  # anything not carrying this evaluation's nonce was not written by the harness
        now = time.monotonic()
        if message.get("phase") == "alive":
            self.ready_s = now - self.received
        elif message.get("phase") == "run" and self.phase == "load":
            self.elapsed["load"] = now - self.phase_started
            self.phase, self.phase_started = "run", now
            self.deadline = now + self.limits.run_timeout_s
        elif message.get("phase") == "first-call":
            self.detail = " during its first forward call (which includes compiling)"
        elif "result" in message:
            self.payload = message["result"]


def _drain(fd: int, sup: _Supervision, nonce: str) -> None:
    while select.select([fd], [], [], 0)[0]:
        data = os.read(fd, 1 << 16)
        if not data:
            return
        sup.feed(data, nonce)


def _describe_exit(status: int) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        hint = {"SIGSEGV": " (segmentation fault)", "SIGKILL": " (killed, possibly out of memory)"}
        return f"was killed by {name}{hint.get(name, '')}"
    return f"exited with status {os.WEXITSTATUS(status)}"


def supervise(sup: _Supervision, nonce: str) -> dict[str, Any]:
    """Waits for the child: its result, its death, a timeout, or too many processes."""
    next_count = 0.0
    while True:
        if select.select([sup.result_r], [], [], _POLL_S)[0]:
            data = os.read(sup.result_r, 1 << 16)
            if data:
                sup.feed(data, nonce)
        pid, status = os.waitpid(sup.pid, os.WNOHANG)
        if pid:
            kill_group(sup.pid)  # leftovers: background processes of the candidate
            _drain(sup.result_r, sup, nonce)
            if sup.payload is not None:
                return {"outcome": "result"}
            return {
                "outcome": "crashed",
                "message": f"the candidate's process {_describe_exit(status)} "
                f"during {sup.phase} without a verdict",
            }
        now = time.monotonic()
        if now > sup.deadline:
            _kill_and_wait(sup.pid)
            limit = sup.limits.compile_timeout_s if sup.phase == "load" else sup.limits.run_timeout_s
            what = "compile/load" if sup.phase == "load" else "run"
            return {
                "outcome": "timeout",
                "message": f"the candidate exceeded the {limit:g} s {what} time "
                f"limit{sup.detail if sup.phase == 'load' else ''}; its process group was killed",
            }
        if now >= next_count:
            next_count = now + 0.05
            count = len(group_members(sup.pid))
            if count > sup.limits.max_processes:
                _kill_and_wait(sup.pid)
                return {
                    "outcome": "crashed",
                    "message": f"the candidate started {count} processes "
                    f"(limit {sup.limits.max_processes}): fork bomb; its process group was killed",
                }


def evaluate(request: dict[str, Any], emit: Any) -> None:
    """Forks one child for the request and reports its outcome."""
    received = time.monotonic()
    limits = WorkerLimits.model_validate(request.get("limits") or {})
    nonce = secrets.token_hex(16)
    workdir = tempfile.mkdtemp(prefix="kw-eval-")
    result_r, result_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(result_r)
        _child(request["job"], limits, workdir, result_w, nonce)
    os.close(result_w)
    emit({"id": request["id"], "event": "started", "pgid": pid})
    sup = _Supervision(pid, result_r, limits, received)
    sup.phase_started = time.monotonic()
    try:
        outcome = supervise(sup, nonce)
    finally:
        os.close(result_r)
    if "load" in sup.elapsed or sup.phase == "load":
        sup.elapsed.setdefault("load", time.monotonic() - sup.phase_started)
    if sup.phase == "run":
        sup.elapsed["run"] = time.monotonic() - sup.phase_started
    outcome.update(
        id=request["id"],
        event="done",
        pgid=pid,
        phase=sup.phase,
        payload=sup.payload,
        ready_s=sup.ready_s,
        elapsed_s=sup.elapsed,
        stdout=_tail(os.path.join(workdir, ".kw-stdout"), limits.output_limit_chars),
        stderr=_tail(os.path.join(workdir, ".kw-stderr"), limits.output_limit_chars),
    )
    shutil.rmtree(workdir, ignore_errors=True)
    emit(outcome)


def main() -> None:
    # The protocol owns the original stdout; stray prints from imported libraries go to stderr.
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    _prctl(PR_SET_CHILD_SUBREAPER, 1)

    def emit(message: dict[str, Any]) -> None:
        proto.write(json.dumps(message) + "\n")
        proto.flush()

    _warm_imports()
    emit({"event": "ready", "pid": os.getpid()})
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        try:
            evaluate(request, emit)
        except Exception as err:  # a harness failure answers the request instead of killing the server
            emit(
                {
                    "id": request.get("id"),
                    "event": "done",
                    "outcome": "crashed",
                    "message": f"the sandbox server failed: {type(err).__name__}: {err}",
                    "payload": None,
                }
            )
        reap_orphans()


if __name__ == "__main__":
    main()
