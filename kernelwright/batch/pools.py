"""Evaluation pools: where a batch sends candidates to be judged, one evaluation per GPU at a time.

A pool is a blocking `Evaluator` (the agent loop calls it through `asyncio.to_thread`), so agents
keep thinking while other tasks' candidates wait for a GPU. Two backends:

- `LocalPool`: one worker thread per local GPU, each owning its own evaluator (a Sandbox pinned to
  that GPU; the sandbox owns process isolation, this module never starts candidate processes);
- `RayPool`: each evaluation is a Ray task with `num_gpus=1`; the worker builds its evaluator from a
  picklable factory and returns the Verdict as JSON, so only the parent ever writes the store.
"""

from __future__ import annotations

import queue
import socket
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from kernelwright.contracts import Candidate, Profile, Task, Verdict
from kernelwright.errors import ConfigError
from kernelwright.interfaces import Evaluator, ProfilerFn

EvaluatorFactory = Callable[[], Evaluator]


class PoolStats:
    """Counters a progress display reads (thread-safe enough: ints under the GIL, one writer each)."""

    def __init__(self, workers: int):
        self.workers = workers
        self.queued = 0
        self.running = 0
        self.done = 0
        self.busy_s = 0.0


class LocalPool:
    """A shared queue served by one thread per GPU worker; whichever GPU is free takes the next job.

    Profiling goes through the same queue (when the workers have profilers), so a profile never
    runs on a GPU while that GPU is timing another candidate."""

    def __init__(
        self,
        evaluators: Sequence[Evaluator],
        *,
        profilers: Sequence[ProfilerFn] | None = None,
        name: str = "gpu",
    ):
        if not evaluators:
            raise ConfigError("The batch has no evaluation worker: no GPU selected and not --compile-only.")
        if profilers is not None and len(profilers) != len(evaluators):
            raise ValueError("one profiler per evaluator, or none")
        self.stats = PoolStats(len(evaluators))
        self.has_profilers = profilers is not None
        self._jobs: queue.Queue[tuple[str, tuple[Any, ...], Future[Any]] | None] = queue.Queue()
        self._threads = [
            threading.Thread(
                target=self._serve,
                args=(ev, profilers[i] if profilers else None),
                name=f"{name}-{i}",
                daemon=True,
            )
            for i, ev in enumerate(evaluators)
        ]
        for t in self._threads:
            t.start()

    def _serve(self, evaluator: Evaluator, profiler: ProfilerFn | None) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            kind, args, fut = job
            if not fut.set_running_or_notify_cancel():
                continue
            self.stats.queued -= 1
            self.stats.running += 1
            start = time.perf_counter()
            try:
                work: Any = evaluator if kind == "evaluate" else profiler
                fut.set_result(work(*args))
            except BaseException as err:  # delivered to the waiting agent, which owns the reaction
                fut.set_exception(err)
            finally:
                self.stats.busy_s += time.perf_counter() - start
                self.stats.running -= 1
                self.stats.done += kind == "evaluate"

    def _submit(self, kind: str, *args: Any) -> Future[Any]:
        fut: Future[Any] = Future()
        self.stats.queued += 1
        self._jobs.put((kind, args, fut))
        return fut

    def submit(self, task: Task, candidate: Candidate) -> Future[Verdict]:
        return self._submit("evaluate", task, candidate)

    def __call__(self, task: Task, candidate: Candidate) -> Verdict:
        return self.submit(task, candidate).result()

    def profile(self, task: Task, candidate: Candidate, verdict: Verdict) -> Profile:
        """interfaces.ProfilerFn, run by a GPU worker between evaluations."""
        if not self.has_profilers:
            raise RuntimeError("this pool was built without profilers")
        profile: Profile = self._submit("profile", task, candidate, verdict).result()
        return profile

    def close(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)
        for t in self._threads:
            t.join(timeout=5)


def _ray_evaluate(factory: EvaluatorFactory, task_json: str, candidate_json: str) -> str:
    """Runs inside a Ray worker: build the evaluator there (Ray pinned CUDA_VISIBLE_DEVICES) and judge."""
    evaluator = factory()
    verdict = evaluator(Task.model_validate_json(task_json), Candidate.model_validate_json(candidate_json))
    return verdict.model_dump_json()


class RayPool:
    """Each evaluation a Ray task holding one GPU; Ray queues them when every GPU is busy."""

    def __init__(
        self, factory: EvaluatorFactory, *, address: str | None, num_gpus: float = 1.0, init: bool = True
    ):
        try:
            import ray
        except ImportError as err:
            raise ConfigError("--ray needs the 'ray' package: pip install 'kernelwright[ray]'.") from err
        self._ray = ray
        if init and not ray.is_initialized():
            _check_reachable(address)
            try:
                ray.init(address=address, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, ValueError, RuntimeError) as err:
                raise ConfigError(f"Cannot connect to the Ray cluster at {address!r}: {err}") from err
        gpus = ray.cluster_resources().get("GPU", 0)
        if gpus < num_gpus:
            raise ConfigError(
                f"The Ray cluster at {address!r} declares {gpus:g} GPUs; a batch needs at least one."
            )
        self.stats = PoolStats(int(gpus / num_gpus))
        self._factory_ref = ray.put(factory)
        # max_calls=0: keep worker processes (and the Sandbox each one holds warm) across tasks;
        # Ray would otherwise start a fresh process for every GPU task.
        self._remote = ray.remote(num_gpus=num_gpus, max_retries=0, max_calls=0)(_ray_evaluate)

    def __call__(self, task: Task, candidate: Candidate) -> Verdict:
        self.stats.queued += 1
        start = time.perf_counter()
        ref = self._remote.remote(self._factory_ref, task.model_dump_json(), candidate.model_dump_json())
        try:
            return Verdict.model_validate_json(self._ray.get(ref))
        finally:
            self.stats.queued -= 1
            self.stats.done += 1
            self.stats.busy_s += time.perf_counter() - start

    def close(self) -> None:
        """The cluster outlives the batch; this driver just disconnects."""


def _check_reachable(address: str | None, timeout_s: float = 5.0) -> None:
    """Ray retries an unreachable head for minutes; a plain TCP connect answers in seconds."""
    if not address or address in ("auto", "local"):
        return
    hostport = address.removeprefix("ray://").split("/")[0]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return  # a form Ray understands and we do not: let Ray judge it
    try:
        socket.create_connection((host, int(port)), timeout=timeout_s).close()
    except OSError as err:
        raise ConfigError(f"Cannot reach the Ray cluster at {address}: {err.strerror or err}.") from None
