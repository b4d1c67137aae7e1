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
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

from kernelwright.contracts import Candidate, Task, Verdict
from kernelwright.errors import ConfigError
from kernelwright.interfaces import Evaluator

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
    """A shared queue served by one thread per evaluator; whichever GPU is free takes the next job."""

    def __init__(self, evaluators: Sequence[Evaluator], *, name: str = "gpu"):
        if not evaluators:
            raise ConfigError("The batch has no evaluation worker: no GPU selected and not --compile-only.")
        self.stats = PoolStats(len(evaluators))
        self._jobs: queue.Queue[tuple[Task, Candidate, Future[Verdict]] | None] = queue.Queue()
        self._threads = [
            threading.Thread(target=self._serve, args=(ev,), name=f"{name}-{i}", daemon=True)
            for i, ev in enumerate(evaluators)
        ]
        for t in self._threads:
            t.start()

    def _serve(self, evaluator: Evaluator) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            task, candidate, fut = job
            if not fut.set_running_or_notify_cancel():
                continue
            self.stats.queued -= 1
            self.stats.running += 1
            start = time.perf_counter()
            try:
                fut.set_result(evaluator(task, candidate))
            except BaseException as err:  # delivered to the waiting agent, which owns the reaction
                fut.set_exception(err)
            finally:
                self.stats.busy_s += time.perf_counter() - start
                self.stats.running -= 1
                self.stats.done += 1

    def submit(self, task: Task, candidate: Candidate) -> Future[Verdict]:
        fut: Future[Verdict] = Future()
        self.stats.queued += 1
        self._jobs.put((task, candidate, fut))
        return fut

    def __call__(self, task: Task, candidate: Candidate) -> Verdict:
        return self.submit(task, candidate).result()

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
        self._remote = ray.remote(num_gpus=num_gpus, max_retries=0)(_ray_evaluate)

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


def close_pool(pool: Any) -> None:
    close = getattr(pool, "close", None)
    if callable(close):
        close()
