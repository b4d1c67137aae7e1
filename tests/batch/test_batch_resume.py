"""A batch of 5 tasks killed with SIGKILL mid-run and resumed ends with exactly the attempts (and LLM
calls) of a clean run, on SQLite and on PostgreSQL; running it again skips every task."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter

import pytest

from tests.batch.batch_driver import N_TASKS
from tests.batch.keyed_server import KeyedServer

from .conftest import attempt_view, driver_cmd, llm_call_view, run_driver


def _count_attempts(url: str) -> int:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(text("SELECT count(*) FROM attempts")).scalar() or 0)
    except Exception:  # the driver has not created the schema yet
        return 0
    finally:
        engine.dispose()


def _kill_mid_run(url: str, base_url: str, after_attempts: int) -> None:
    proc = subprocess.Popen(
        driver_cmd(url, base_url, "--gpu-s", "0.15"), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    try:
        while _count_attempts(url) < after_attempts:
            assert proc.poll() is None, "the batch finished before it could be killed"
            assert time.monotonic() < deadline, "the batch stored no attempts in 120 s"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _interrupted_tasks(url: str) -> int:
    from kernelwright.store import open_store

    store = open_store(url)
    try:
        return sum(1 for r in store.runs() if r.config.get("kind") == "batch-task" and r.status == "running")
    finally:
        store.close()


def _batch_run_id(url: str) -> int:
    from kernelwright.store import open_store

    store = open_store(url)
    try:
        (batch,) = [r for r in store.runs() if r.config.get("kind") == "batch"]
        assert batch.status == "running"  # killed: nobody finished it
        return batch.id
    finally:
        store.close()


def _kill_resume_and_compare(url: str, clean_url: str, server: KeyedServer) -> None:
    expected = attempt_view(clean_url)
    assert sum(expected.values()) >= 2 * N_TASKS
    _kill_mid_run(url, server.base_url, after_attempts=10)
    partial = attempt_view(url)
    assert 10 <= sum(partial.values()) < sum(expected.values())

    interrupted = _interrupted_tasks(url)
    assert interrupted >= 1

    stdout = run_driver(url, server.base_url, "--resume", str(_batch_run_id(url)))
    assert " failed " not in stdout, stdout
    assert attempt_view(url) == expected  # nothing lost, nothing duplicated

    # LLM calls: exactly those of the clean run. Replies already paid for are served from the store,
    # and the loop words each prompt from its round's attempts in slot order, so the resumed round
    # asks exactly what the clean run asked.
    resumed, clean = llm_call_view(url), llm_call_view(clean_url)
    assert clean - resumed == Counter()
    assert resumed - clean == Counter()

    # the same configuration again, as a new batch: every task is already done, nothing is added
    again = run_driver(url, server.base_url)
    assert again.count(" skipped ") == N_TASKS, again
    assert attempt_view(url) == expected


@pytest.mark.slow
def test_kill_and_resume_on_sqlite(clean_run: str, llm_server: KeyedServer, tmp_path) -> None:
    _kill_resume_and_compare(f"sqlite:///{tmp_path / 'killed.db'}", clean_run, llm_server)


@pytest.mark.slow
@pytest.mark.postgres
def test_kill_and_resume_on_postgres(clean_run: str, llm_server: KeyedServer, pg_url: str) -> None:
    _kill_resume_and_compare(pg_url, clean_run, llm_server)
