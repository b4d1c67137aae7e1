"""The sandbox tests' shared fixture: one warm CPU fork server per test module (the hack corpus and
the worker tests start their own, with secrets in the environment)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kernelwright.sandbox.isolation.worker import WorkerClient


@pytest.fixture(scope="module")
def worker() -> Iterator[WorkerClient]:
    client = WorkerClient(None)
    client.start()
    yield client
    client.close()
