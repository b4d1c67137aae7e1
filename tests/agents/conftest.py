"""Fixtures for the agents tests: the scripted OpenAI server and a task (the store is tests/conftest.py's)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kernelwright.contracts import Task
from tests.support.openai_server import ScriptedServer, running_server


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with running_server() as s:
        yield s


@pytest.fixture
def relu_task() -> Task:
    from kernelwright.kernelbench.suite import find_task

    return find_task("level1/19_ReLU")
