"""Parent side of the isolation: spawns the warm fork server (worker_server) in its own session with
a scrubbed environment, hands it one job at a time and survives anything the child does to it.

The parent never imports candidate code: it sends sources as JSON and reads a JSON reply. When the
server itself dies (a candidate that kills its parent) or stops answering, the evaluation is
reported as `crashed`, the candidate's process group is killed, and the next job gets a new server.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

from kernelwright.errors import KernelwrightError
from kernelwright.sandbox.config import WorkerJob, WorkerLimits

# Environment names a candidate must never see: LLM keys, tokens, cloud credentials, DB URLs.
SECRET_PATTERNS = (
    "OPENAI_*",
    "ANTHROPIC_*",
    "AZURE_*",
    "AWS_*",
    "GOOGLE_*",
    "GCP_*",
    "HF_*",
    "HUGGING*",
    "*_API_KEY",
    "*APIKEY*",
    "*_KEY",
    "*TOKEN*",
    "*SECRET*",
    "*PASSWORD*",
    "*PASSWD*",
    "*CREDENTIAL*",
    "*_DSN",
    "DATABASE_URL",
    "*_DATABASE_URL",
    "PG*",
    "MYSQL_*",
    "REDIS_URL",
    "KERNELWRIGHT_*",
    "SSH_AUTH_SOCK",
    "GH_*",
    "GITHUB_*",
    "NETRC",
    "RAY_ADDRESS",
)
# Kept although they match a pattern above: they configure caches, not access.
SECRET_EXCEPTIONS = ("KERNELWRIGHT_CACHE_DIR",)
READY_TIMEOUT_S = 180.0
# Slack on top of the child's own limits before the parent gives up on the server itself.
BACKSTOP_SLACK_S = 60.0


def scrub_environment(env: Mapping[str, str]) -> dict[str, str]:
    """A copy of `env` without secrets (see SECRET_PATTERNS)."""
    kept = {}
    for name, value in env.items():
        upper = name.upper()
        secret = any(fnmatch.fnmatchcase(upper, pattern) for pattern in SECRET_PATTERNS)
        if not secret or upper in SECRET_EXCEPTIONS:
            kept[name] = value
    return kept


def pinned_device(env: Mapping[str, str], gpu_index: int) -> str:
    """The one device a child may see, as a CUDA_VISIBLE_DEVICES value: `gpu_index` counts the
    devices the user left visible (in PCI bus order, as NVML numbers them)."""
    visible = [d.strip() for d in env.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    if visible:
        if gpu_index >= len(visible):
            raise KernelwrightError(
                f"GPU index {gpu_index} is not among CUDA_VISIBLE_DEVICES={','.join(visible)}"
            )
        return visible[gpu_index]
    return str(gpu_index)


def kill_process_group(pgid: int) -> None:
    """SIGKILL a group a few times (members may still be forking); never waits on foreign children."""
    for _ in range(20):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            return
        time.sleep(0.01)


class WorkerServerDied(Exception):
    """The fork server exited or stopped answering; carries one sentence."""


class WorkerClient:
    """One warm fork server pinned to one GPU (or none, for the CPU path)."""

    def __init__(self, gpu_index: int | None = 0, *, python: str = sys.executable):
        self.gpu_index = gpu_index
        self.python = python
        self._proc: subprocess.Popen[bytes] | None = None
        self._buffer = b""
        self._lock = threading.Lock()
        self.restarts = 0
        self.server_ready_s: float | None = None
        self._server_log = tempfile.TemporaryFile()  # noqa: SIM115 -- lives as long as the client

    def server_log_tail(self, limit: int = 4000) -> str:
        """The end of the server's own stderr (for diagnosing a worker that fails to start)."""
        self._server_log.flush()
        self._server_log.seek(0, os.SEEK_END)
        size = self._server_log.tell()
        self._server_log.seek(max(0, size - limit))
        return self._server_log.read().decode(errors="replace")

    # ------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Spawns the server and waits until it has imported torch; idempotent."""
        if self._proc is not None and self._proc.poll() is None:
            return
        env = scrub_environment(os.environ)
        env["PYTHONUNBUFFERED"] = "1"
        # NVML numbers GPUs by PCI bus; CUDA, by default, fastest first. The GPU the sandbox timed
        # must be the one kernelwright names and profiles.
        env["CUDA_DEVICE_ORDER"] = "PCI_BUS_ID"
        # The judge and the runner share the machine's cores: OpenMP threads that spin after each
        # parallel region (the default) in one process slow the other's timed calls (2x on 2 cores).
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        if self.gpu_index is not None:
            env["CUDA_VISIBLE_DEVICES"] = pinned_device(os.environ, self.gpu_index)
        else:
            env["CUDA_VISIBLE_DEVICES"] = ""
        started = time.monotonic()
        self._buffer = b""
        # The server's own stderr (import failures, harness bugs); never candidate output.
        self._server_log.seek(0)
        self._server_log.truncate()
        self._proc = subprocess.Popen(
            [self.python, "-m", "kernelwright.sandbox.isolation.server"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._server_log,
            env=env,
            start_new_session=True,
            close_fds=True,
        )
        try:
            message = self._read_message(time.monotonic() + READY_TIMEOUT_S)
        except WorkerServerDied as err:
            self._stop()
            last = self.server_log_tail().strip().splitlines()[-1:] or ["no output"]
            raise KernelwrightError(
                f"the sandbox worker could not start: {err}; it said: {last[0][:300]}"
            ) from None
        if message.get("event") != "ready":
            self._stop()
            raise KernelwrightError("the sandbox worker started but did not report ready")
        self.server_ready_s = time.monotonic() - started

    @property
    def server_pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def close(self) -> None:
        """Stops the server (and whatever it still runs)."""
        with self._lock:
            self._stop()

    def _stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is None:
            return
        with contextlib.suppress(OSError):
            proc.stdin.close()  # type: ignore[union-attr]
        kill_process_group(proc.pid)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=5)
        with contextlib.suppress(OSError):
            proc.stdout.close()  # type: ignore[union-attr]

    def __enter__(self) -> WorkerClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ one job

    def run(self, job: WorkerJob, limits: WorkerLimits) -> dict[str, Any]:
        """The server's `done` message for this job; a dead or silent server becomes `crashed`."""
        with self._lock:
            self.start()
            request_id = uuid.uuid4().hex
            request = {"id": request_id, "job": job.model_dump(), "limits": limits.model_dump()}
            deadline = time.monotonic() + limits.compile_timeout_s + limits.run_timeout_s + BACKSTOP_SLACK_S
            pgid: int | None = None
            try:
                assert self._proc is not None and self._proc.stdin is not None
                self._proc.stdin.write((json.dumps(request) + "\n").encode())
                self._proc.stdin.flush()
                while True:
                    message = self._read_message(deadline)
                    if message.get("id") != request_id:
                        continue
                    if message.get("event") == "started":
                        pgid = int(message["pgid"])
                    elif message.get("event") == "done":
                        return message
            except (WorkerServerDied, BrokenPipeError, OSError) as err:
                if pgid is not None:
                    kill_process_group(pgid)
                self._stop()
                self.restarts += 1
                return {
                    "event": "done",
                    "outcome": "crashed",
                    "payload": None,
                    "message": f"the sandbox worker server {err}; the candidate may have killed its parent. "
                    "Its process group was killed and the server will be restarted",
                }

    def _read_message(self, deadline: float) -> dict[str, Any]:
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        while b"\n" not in self._buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise WorkerServerDied("stopped answering")
            if select.select([fd], [], [], min(remaining, 1.0))[0]:
                data = os.read(fd, 1 << 16)
                if not data:
                    # The pipe closes a moment before the exit status can be reaped.
                    try:
                        code: int | None = self._proc.wait(timeout=1.0)
                    except subprocess.TimeoutExpired:
                        code = None
                    raise WorkerServerDied(
                        f"died (exit status {code})" if code is not None else "closed its pipe"
                    )
                self._buffer += data
        line, self._buffer = self._buffer.split(b"\n", 1)
        try:
            message: dict[str, Any] = json.loads(line)
            return message
        except ValueError:
            return {}
