"""Batch test fixtures: the prompt-keyed scripted OpenAI server, the batch driver subprocess, and a
content view of a store that two runs can be compared by (store ids and clock times differ)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.batch.keyed_server import KeyedServer, prompt_key

DRIVER = Path(__file__).parent / "batch_driver.py"


@pytest.fixture(scope="module")
def llm_server() -> Iterator[KeyedServer]:
    server = KeyedServer().start()
    yield server
    server.stop()


def driver_cmd(db: str, base_url: str, *extra: str) -> list[str]:
    return [sys.executable, str(DRIVER), "--db", db, "--base-url", base_url, *extra]


def run_driver(db: str, base_url: str, *extra: str) -> str:
    out = subprocess.run(driver_cmd(db, base_url, *extra), capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    return out.stdout


def attempt_view(url: str) -> Counter[tuple[object, ...]]:
    """Every attempt of every batch task run, by content: task, slot, mode, code, verdict, parent slot."""
    from kernelwright.store import open_store

    store = open_store(url)
    try:
        view: Counter[tuple[object, ...]] = Counter()
        for run in store.runs():
            if run.config.get("kind") != "batch-task":
                continue
            stored = [
                s for s in store.attempts_for_task(run.config["task_key"]) if s.attempt.run_id == run.id
            ]
            slot = {s.id: (s.attempt.round, s.attempt.candidate_index) for s in stored}
            for s in stored:
                a = s.attempt
                view[
                    (a.task_key, a.round, a.candidate_index, a.mode, a.code, a.verdict.status.value,
                     a.verdict.speedup_vs_eager, slot.get(a.parent_attempt_id) if a.parent_attempt_id else None,
                     a.gpu_name)
                ] += 1  # fmt: skip
        return view
    finally:
        store.close()


def llm_call_view(url: str) -> Counter[tuple[str, str, str | None]]:
    from kernelwright.store import open_store

    store = open_store(url)
    try:
        view: Counter[tuple[str, str, str | None]] = Counter()
        for run in store.runs():
            if run.config.get("kind") == "batch-task":
                for c in store.llm_calls(run.id):
                    view[(c.role, prompt_key(json.loads(c.prompt)), c.response)] += 1
        return view
    finally:
        store.close()


@pytest.fixture(scope="module")
def clean_run(llm_server: KeyedServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The reference: the same batch run once, uninterrupted, on SQLite."""
    url = f"sqlite:///{tmp_path_factory.mktemp('clean') / 'clean.db'}"
    stdout = run_driver(url, llm_server.base_url)
    assert " failed " not in stdout, stdout
    return url
