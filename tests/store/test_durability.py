"""Writes survive their writer: a process killed with SIGKILL mid-loop loses at most the attempt in
flight, and concurrent writer processes keep `best` exact (SQLite queues them on its write lock)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import text

from kernelwright.store import SqlStore, open_store

from .sample_records import make_attempt, make_profile

WRITER = Path(__file__).with_name("store_writer.py")


def _writer(url: str, run_id: int, count: int, seed: int, start_at: float = 0.0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(WRITER), url, str(run_id), str(count), str(seed), str(start_at)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killed_writer_loses_at_most_the_attempt_in_flight(store: SqlStore, store_url: str) -> None:
    run_id = store.create_run({}, coder_model="c", judge_model="j", gpu_name="NVIDIA H100 80GB HBM3")
    writer = _writer(store_url, run_id, 0, seed=1)
    committed: list[int] = []
    deadline = time.monotonic() + 60
    while len(committed) < 40 and time.monotonic() < deadline:
        line = writer.stdout.readline()
        assert line, f"writer died: {writer.stderr.read()}"
        committed.append(int(line))
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(timeout=10)
    writer.stdout.close()
    writer.stderr.close()
    assert len(committed) == 40

    reopened = open_store(store_url)
    try:
        stored = {s.id: s.attempt for s in reopened.attempts_for_task("level1/19_ReLU")}
        assert set(committed) <= set(stored), "an attempt reported as committed is missing"
        assert len(stored) - len(committed) <= 1, "only the attempt in flight may be extra"
        for attempt_id in committed:
            attempt = stored[attempt_id]
            assert attempt.profile == make_profile() and attempt.run_id == run_id
            assert reopened.metrics(attempt_id) == make_profile().metrics
        key = lambda b: (b.task_key, b.gpu_name, b.attempt_id)  # noqa: E731
        assert [key(b) for b in reopened.best_all()] == [key(b) for b in reopened.best_recomputed()]
        if reopened.dialect == "sqlite":
            with reopened.engine.connect() as conn:
                assert conn.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        # The store still takes writes after the crash.
        reopened.add_attempt(make_attempt(run_id, round_=999))
    finally:
        reopened.close()


def test_concurrent_writers_keep_every_attempt_and_best_exact(store: SqlStore, store_url: str) -> None:
    run_id = store.create_run({}, coder_model="c", judge_model="j", gpu_name="NVIDIA H100 80GB HBM3")
    start_at = time.time() + 4  # after every writer has imported and opened the store
    writers = [_writer(store_url, run_id, 100, seed, start_at) for seed in (11, 12, 13)]
    owner: dict[int, int] = {}
    for n, writer in enumerate(writers):
        out, err = writer.communicate(timeout=120)
        assert writer.returncode == 0, err
        owner.update((int(line), n) for line in out.split())
    assert len(owner) == 300 and len(store.attempts(run_id)) == 300
    interleaved = sum(owner[a] != owner[b] for a, b in zip(sorted(owner), sorted(owner)[1:], strict=False))
    assert interleaved > 2, "the writers did not overlap, so this test proved nothing"
    key = lambda b: (b.task_key, b.gpu_name, b.attempt_id, b.candidate_median_ms)  # noqa: E731
    assert [key(b) for b in store.best_all()] == [key(b) for b in store.best_recomputed()]


def test_threads_share_one_store(store: SqlStore) -> None:
    """The loop calls the sandbox (which caches baselines) from worker threads: one SqlStore, many threads."""
    from concurrent.futures import ThreadPoolExecutor

    run_id = store.create_run({}, coder_model="c", judge_model="j", gpu_name="NVIDIA H100 80GB HBM3")
    with ThreadPoolExecutor(max_workers=6) as pool:
        ids = list(
            pool.map(
                lambda i: store.add_attempt(make_attempt(run_id, median_ms=1 + i % 7, round_=i)), range(120)
            )
        )
    assert len(set(ids)) == 120 and len(store.attempts(run_id)) == 120
    [best] = store.best_all()
    assert best.candidate_median_ms == 1.0 and best.attempt_id in {ids[i] for i in range(0, 120, 7)}
