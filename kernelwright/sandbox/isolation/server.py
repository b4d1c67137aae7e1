"""The warm fork server: imports torch (and cupy) once, never initialises CUDA, and forks two children
per evaluation: the runner, which imports the candidate behind the OS walls, and the judge, which
never does and alone writes the result this server reads. The server supervises both (a backstop
wall-time limit, the runner's process count, group kills).

Protocol: JSON lines. Requests on stdin: {"id", "job", "limits"}. Replies on the original stdout:
{"event": "ready"} once, then per request {"event": "started", "pgid"} and {"event": "done", ...}.
The judge's modules are never imported here, so they are not in the runner's memory either.
Run as `python -m kernelwright.sandbox.isolation.server`; the parent (worker.WorkerClient) spawns it in
a new session with a scrubbed environment.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
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
# Beyond the job's own limits (which the judge enforces), before the server kills the evaluation.
BACKSTOP_SLACK_S = 20.0


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
    _warm_meta_device()
    for optional in (
        "torch._dynamo",
        "torch.utils.cpp_extension",
        "torch.profiler",
        "cupy",
        "kernelwright.sandbox.native",
        "kernelwright.sandbox.runner.serve",
        "kernelwright.sandbox.runner.launch_events",
        "kernelwright.sandbox.runner.audit_hooks",
        "kernelwright.sandbox.isolation.walls",
        "kernelwright.sandbox.isolation.seccomp_filter",
        "kernelwright.sandbox.isolation.landlock_rules",
        "kernelwright.kernelbench.sizes",
    ):
        with contextlib.suppress(Exception):
            __import__(optional)


def _warm_meta_device() -> None:
    """The judge's shape trial builds the task on PyTorch's meta device, whose first use imports
    torch's Python reference ops (torch._refs, torch._prims): without .pyc files that cost every
    judge a few hundred milliseconds, so it is paid once here."""
    import torch

    from kernelwright.kernelbench.meta import on_meta_device

    with contextlib.suppress(Exception), on_meta_device():
        x = torch.randn(2, 4, 8, 8)
        layers = [torch.nn.Conv2d(4, 4, 3, padding=1), torch.nn.BatchNorm2d(4), torch.nn.ReLU()]
        y = torch.nn.Sequential(*layers)(x).flatten(1)
        y = torch.nn.LayerNorm(y.shape[-1])(torch.nn.functional.gelu(y))
        torch.softmax(y @ y.t(), dim=-1).sum()


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


# Exit statuses reap_orphans collected, so that whoever waits for one of its own children later
# still learns how it ended.
REAPED: dict[int, int] = {}


def reap_orphans() -> None:
    """As a child subreaper the server inherits the candidate's orphans; reap them so that none
    lingers as a zombie."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        REAPED[pid] = status


def wait_child(pid: int, *, block: bool) -> int | None:
    """The exit status of a child of this server, or None while it runs (block=False)."""
    if pid in REAPED:
        return REAPED.pop(pid)
    try:
        done, status = os.waitpid(pid, 0 if block else os.WNOHANG)
    except ChildProcessError:
        return REAPED.pop(pid, 0)
    return status if done else None


def kill_group(pgid: int) -> None:
    """SIGKILL the whole group until no live member is left (a fork bomb keeps adding members)."""
    for _ in range(200):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
        reap_orphans()
        REAPED.clear()
        if not group_members(pgid):
            return
        time.sleep(0.005)


def _kill_and_wait(pid: int) -> int | None:
    kill_group(pid)
    return wait_child(pid, block=True)


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


def _fork_child(body: Any) -> int:
    """Forks a child in a session of its own that dies with the server; `body` never returns."""
    pid = os.fork()
    if pid:
        return pid
    code = 70
    try:
        os.setsid()
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        body()
        code = 0
    except BaseException as err:  # the child must never unwind into the server's loop
        with contextlib.suppress(Exception):
            os.write(2, f"sandbox child failed: {type(err).__name__}: {err}\n".encode())
    finally:
        os._exit(code)


def exchange_folder() -> str:
    """Where judge and runner exchange tensors: /dev/shm when it has room (memory, no disk writes),
    else the temporary folder (Docker's default /dev/shm is 64 MB)."""
    try:
        info = os.statvfs("/dev/shm")
        if info.f_bavail * info.f_frsize >= 1 << 30:
            return tempfile.mkdtemp(prefix="kw-exchange-", dir="/dev/shm")
    except OSError:
        pass
    return tempfile.mkdtemp(prefix="kw-exchange-")


class _Evaluation:
    """The two children of one evaluation as the server watches them."""

    def __init__(self, limits: WorkerLimits, runner: int, judge: int, result_r: int):
        self.limits = limits
        self.runner = runner
        self.judge = judge
        self.result_r = result_r
        self.started = time.monotonic()
        self.deadline = self.started + limits.compile_timeout_s + limits.run_timeout_s + BACKSTOP_SLACK_S
        self.buffer = b""
        self.payload: dict[str, Any] | None = None
        self.runner_status: int | None = None
        self.judge_status: int | None = None
        self.forced: dict[str, Any] | None = None

    def feed(self, data: bytes) -> None:
        self.buffer += data
        while b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            with contextlib.suppress(ValueError, TypeError, KeyError):
                self.payload = json.loads(line)["result"]

    def read(self, timeout: float) -> None:
        while select.select([self.result_r], [], [], timeout)[0]:
            data = os.read(self.result_r, 1 << 16)
            if not data:
                return
            self.feed(data)
            timeout = 0

    def reap(self) -> None:
        if self.runner_status is None:
            self.runner_status = wait_child(self.runner, block=False)
        if self.judge_status is None:
            self.judge_status = wait_child(self.judge, block=False)


def supervise(ev: _Evaluation) -> dict[str, Any]:
    """Waits for the judge's result; kills the runner on a fork bomb and both on the backstop."""
    next_count = 0.0
    while ev.judge_status is None:
        ev.read(_POLL_S)
        ev.reap()
        now = time.monotonic()
        if now > ev.deadline:
            ev.forced = {
                "outcome": "timeout",
                "message": "the evaluation exceeded the sandbox's overall time limit; its processes were killed",
            }
            ev.judge_status = _kill_and_wait(ev.judge)
            break
        if ev.runner_status is None and now >= next_count and ev.forced is None:
            next_count = now + 0.05
            count = len(group_members(ev.runner))
            if count > ev.limits.max_processes:
                kill_group(ev.runner)
                ev.forced = {
                    "outcome": "crashed",
                    "message": f"the candidate started {count} processes "
                    f"(limit {ev.limits.max_processes}): fork bomb; its process group was killed",
                }
    kill_group(ev.runner)
    ev.read(0)
    if ev.runner_status is None:
        ev.runner_status = wait_child(ev.runner, block=True)
    if ev.forced is not None:
        return ev.forced
    if ev.payload is not None:
        return {"outcome": "result"}
    return {
        "outcome": "crashed",
        "message": f"the sandbox's judge {_describe_exit(ev.judge_status or 0)} without a verdict",
    }


def evaluate(request: dict[str, Any], emit: Any) -> None:
    """Forks the runner and the judge for one request and reports the judge's result."""
    from kernelwright.sandbox.config import WorkerJob
    from kernelwright.sandbox.isolation.child import runner_main, setup_process

    received = time.monotonic()
    limits = WorkerLimits.model_validate(request.get("limits") or {})
    job = WorkerJob.model_validate(request["job"])
    runner_dir = tempfile.mkdtemp(prefix="kw-run-")
    judge_dir = tempfile.mkdtemp(prefix="kw-judge-")
    exchange = exchange_folder()
    to_runner_r, to_runner_w = os.pipe()
    to_judge_r, to_judge_w = os.pipe()
    result_r, result_w = os.pipe()

    runner = _fork_child(lambda: runner_main(job, limits, runner_dir, exchange, to_runner_r, to_judge_w))

    def judge_body() -> None:
        setup_process(None, judge_dir, (to_judge_r, to_runner_w, result_w))
        from kernelwright.sandbox.judge.entry import run

        run(request["job"], limits, judge_dir, exchange, to_runner_w, to_judge_r, result_w)

    judge = _fork_child(judge_body)
    for fd in (to_runner_r, to_runner_w, to_judge_r, to_judge_w, result_w):
        os.close(fd)
    emit({"id": request["id"], "event": "started", "pgid": runner, "judge_pgid": judge})
    ev = _Evaluation(limits, runner, judge, result_r)
    try:
        outcome = supervise(ev)
    finally:
        os.close(result_r)
        kill_group(judge)
    judged = time.monotonic()
    outcome.update(
        id=request["id"],
        event="done",
        pgid=runner,
        payload=ev.payload,
        elapsed_s={"evaluation": judged - received, "supervise": judged - ev.started},
        runner_exit=_describe_exit(ev.runner_status) if ev.runner_status is not None else None,
        stdout=_tail(os.path.join(runner_dir, ".kw-stdout"), limits.output_limit_chars),
        stderr=_tail(os.path.join(runner_dir, ".kw-stderr"), limits.output_limit_chars),
        judge_stderr=_tail(os.path.join(judge_dir, ".kw-stderr"), limits.output_limit_chars),
    )
    for folder in (runner_dir, judge_dir, exchange):
        shutil.rmtree(folder, ignore_errors=True)
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
        REAPED.clear()


if __name__ == "__main__":
    main()
