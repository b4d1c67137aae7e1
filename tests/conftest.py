"""Shared fixtures: the GPU skip rule, a fresh PostgreSQL database per test, and the store.

`store` is a real SqlStore on `store_url`: a fresh SQLite file, except in tests/store, whose
conftest runs every test on PostgreSQL as well."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from kernelwright.gpu.availability import gpu_available
from kernelwright.store import SqlStore, open_store

# A local Ray instance in the tests stays on loopback (on Linux, Ray otherwise binds the node to
# the machine's outward address) and reports no usage statistics.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if gpu_available():
        return
    skip = pytest.mark.skip(reason="needs an NVIDIA GPU, none visible here; scripts/gpu-check runs it")
    for item in items:
        if item.get_closest_marker("gpu") is not None:  # the marker, not a folder named gpu
            item.add_marker(skip)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A SQLAlchemy URL to a brand-new PostgreSQL database, dropped afterwards.

    scripts/test starts a private server and sets KERNELWRIGHT_TEST_PG_URL; without it the test is
    skipped with that reason (loudly: -ra lists every skip)."""
    base = os.environ.get("KERNELWRIGHT_TEST_PG_URL")
    if not base:
        pytest.skip("no PostgreSQL server: KERNELWRIGHT_TEST_PG_URL is unset (scripts/test starts one)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"kwtest_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def store_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture
def store(store_url: str) -> Iterator[SqlStore]:
    with open_store(store_url) as opened:
        yield opened
