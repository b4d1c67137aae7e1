"""The local pool: one job at a time per GPU worker, all workers busy under load, profiles queued
with evaluations, and an evaluator's exception delivered to the caller."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from kernelwright.batch.pools import LocalPool
from kernelwright.contracts import Candidate, Profile, Task, Verdict
from tests.support.recorded import batch_evaluator, load_verdict

TASK = Task(name="19_ReLU", level=1, path="x.py", source="", source_sha256="0" * 64)
OK = Candidate(source="# verdict: ok_1.30x\n")


class Worker:
    """One GPU's evaluator + profiler (recorded Verdicts); notes overlaps on its own GPU."""

    def __init__(self, log: list[tuple[str, str]]) -> None:
        self.inner = batch_evaluator(gpu_s=0.02)
        self.busy = threading.Lock()
        self.overlaps = 0
        self.log = log

    def _run(self, kind: str) -> None:
        if not self.busy.acquire(blocking=False):
            self.overlaps += 1
            self.busy.acquire()
        try:
            self.log.append((threading.current_thread().name, kind))
            time.sleep(0.02)
        finally:
            self.busy.release()

    def evaluate(self, task: Task, candidate: Candidate) -> Verdict:
        self._run("evaluate")
        return self.inner(task, candidate)

    def profile(self, task: Task, candidate: Candidate, verdict: Verdict) -> Profile:
        self._run("profile")
        return Profile(digest=f"profiled {verdict.speedup_vs_eager}")


def test_each_gpu_runs_one_job_at_a_time_and_all_gpus_work() -> None:
    log: list[tuple[str, str]] = []
    workers = [Worker(log), Worker(log)]
    pool = LocalPool([w.evaluate for w in workers], profilers=[w.profile for w in workers])
    try:
        with ThreadPoolExecutor(8) as agents:  # eight agents asking at once
            verdicts = list(agents.map(lambda _: pool(TASK, OK), range(16)))
            profiles = list(agents.map(lambda v: pool.profile(TASK, OK, v), verdicts[:6]))
    finally:
        pool.close()
    assert verdicts == [load_verdict("ok_1.30x")] * 16
    assert {p.digest for p in profiles} == {"profiled 1.3"}
    assert [w.overlaps for w in workers] == [0, 0]
    assert {name for name, _ in log} == {"gpu-0", "gpu-1"}  # both GPUs took work
    assert sum(kind == "profile" for _, kind in log) == 6
    assert pool.stats.done == 16 and pool.stats.queued == 0 and pool.stats.running == 0


def test_evaluator_errors_reach_the_caller() -> None:
    pool = LocalPool([batch_evaluator()])
    try:
        with pytest.raises(AssertionError, match="no '# verdict: NAME' marker"):
            pool(TASK, Candidate(source="print('no marker')"))
        assert pool(TASK, OK).status == "ok"  # the worker survives a failed job
        with pytest.raises(RuntimeError, match="without profilers"):
            pool.profile(TASK, OK, load_verdict("ok_1.30x"))
    finally:
        pool.close()
