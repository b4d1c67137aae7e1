"""The same batch on a local Ray instance that declares two logical GPUs: each evaluation is a Ray
task holding one GPU (checked inside the worker), the store is PostgreSQL and only the driver writes
it; the stored attempts equal the local clean run's."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.batch.batch_driver import batch_settings, batch_target, batch_tasks
from tests.batch.keyed_server import KeyedServer
from tests.support.recorded import ray_pinned_factory

from .conftest import attempt_view

REPO = Path(__file__).resolve().parents[2]  # Ray workers import tests.support.recorded from here


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    ray = pytest.importorskip("ray")
    path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    ray.init(
        num_cpus=2,
        num_gpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"PYTHONPATH": path}},
    )
    yield ray
    ray.shutdown()


@pytest.mark.slow
@pytest.mark.postgres
def test_ray_batch_stores_what_a_local_batch_stores(
    local_ray: Any, clean_run: str, llm_server: KeyedServer, pg_url: str
) -> None:
    from kernelwright.batch.config import BatchConfig
    from kernelwright.batch.optimize_suite import optimize_suite
    from kernelwright.batch.pools import RayPool
    from kernelwright.store import open_store

    pool = RayPool(functools.partial(ray_pinned_factory, 0.02), address=None)
    assert pool.stats.workers == 2
    store = open_store(pg_url)
    try:
        state = asyncio.run(
            optimize_suite(
                batch_tasks(),
                batch_settings(llm_server.base_url),
                BatchConfig(llm_concurrency=3),
                batch_target(),
                store,
                evaluate=pool,
                profile=None,
                workers=pool.stats.workers,
            )
        )
    finally:
        store.close()
    assert [o.status for o in state.outcomes if o.status == "failed"] == [], [
        o.message for o in state.outcomes
    ]
    assert pool.stats.done == sum(attempt_view(pg_url).values())  # every attempt went through Ray
    assert attempt_view(pg_url) == attempt_view(clean_run)
