"""Every store test runs twice: on a SQLite file and on a fresh PostgreSQL database (the `pg_url`
fixture of tests/conftest.py, skipped with its reason where no server was started); `store` is the
shared fixture of tests/conftest.py on this URL."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, store_url: str) -> str:
    return store_url if request.param == "sqlite" else request.getfixturevalue("pg_url")
