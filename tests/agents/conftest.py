"""Fixtures for the agents tests: the scripted OpenAI server, a real SQLite store, a task."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from agents.openai_server import ScriptedServer, running_server
from kernelwright.contracts import Task


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with running_server() as s:
        yield s


@pytest.fixture
def store(tmp_path: Path):
    from kernelwright.store.sql_store import open_store

    s = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    yield s
    s.close()


@pytest.fixture
def relu_task() -> Task:
    from kernelwright.kernelbench.suite import find_task

    return find_task("level1/19_ReLU")
