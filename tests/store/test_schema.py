"""Migrations: a blank database reaches head with exactly the models' schema; an older store
upgrades with its data intact; a store from a newer kernelwright is refused untouched."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, text

from kernelwright.contracts import Status, TimingStats
from kernelwright.errors import StoreError
from kernelwright.store import SqlStore, open_store
from kernelwright.store.migrate import current_revision, head_revision
from kernelwright.store.models import Base

from .sample_records import make_attempt, make_llm_call, make_profile, make_task

EXPECTED_COLUMNS = {
    "runs": {"id", "config", "coder_model", "judge_model", "gpu_name", "status", "started_at", "finished_at"},
    "tasks": {"id", "key", "name", "level", "task_id", "path", "source", "source_sha256", "description", "spec"},
    "attempts": {
        "id", "run_id", "task_id", "round", "candidate_index", "mode", "parent_attempt_id", "code", "status",
        "message", "verdict", "profile", "speedup_vs_eager", "speedup_vs_compiled", "candidate_median_ms",
        "gpu_name", "created_at", "idea", "analysis",
    },
    "llm_calls": {
        "id", "run_id", "role", "model", "prompt", "response", "tokens_in", "tokens_out", "latency_s",
        "cost_usd", "error", "created_at", "finish_reason",
    },
    "metrics": {"id", "attempt_id", "source", "name", "value", "unit", "kernel"},
    "best": {
        "task_id", "gpu_name", "attempt_id", "candidate_median_ms", "speedup_vs_eager", "speedup_vs_compiled",
        "updated_at",
    },
    "baselines": {
        "task_id", "gpu_name", "torch_version", "source_sha256", "eager_timing", "compiled_timing", "measured_at",
    },
}  # fmt: skip


def test_blank_database_migrates_to_the_models_schema(store: SqlStore) -> None:
    inspector = inspect(store.engine)
    tables = set(inspector.get_table_names())
    assert tables == set(EXPECTED_COLUMNS) | {"alembic_version"}
    for table, columns in EXPECTED_COLUMNS.items():
        assert {c["name"] for c in inspector.get_columns(table)} == columns, table

    attempt_indexes = {ix["name"]: ix["column_names"] for ix in inspector.get_indexes("attempts")}
    assert attempt_indexes["ix_attempts_task_gpu_status_median"] == [
        "task_id", "gpu_name", "status", "candidate_median_ms",
    ]  # fmt: skip
    assert attempt_indexes["ix_attempts_run_task_round"] == ["run_id", "task_id", "round"]
    assert "ix_attempts_run" not in attempt_indexes, "revision 0002 drops the superseded run-only index"
    assert inspector.get_pk_constraint("best")["constrained_columns"] == ["task_id", "gpu_name"]
    assert inspector.get_pk_constraint("baselines")["constrained_columns"] == [
        "task_id",
        "gpu_name",
        "torch_version",
    ]
    assert {fk["referred_table"] for fk in inspector.get_foreign_keys("attempts")} == {
        "runs",
        "tasks",
        "attempts",
    }

    with store.engine.connect() as conn:
        assert current_revision(conn) == head_revision() == "0004"
        # Nothing the models declare is missing from, or different in, what the migrations built.
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []


def test_sqlite_store_uses_wal_and_enforces_foreign_keys(tmp_path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'wal.db'}")
    with store.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    with pytest.raises(StoreError, match="refused the write"):
        store.add_attempt(make_attempt(run_id=999))  # no such run
    store.close()


def test_older_store_upgrades_and_keeps_its_data(store_url: str) -> None:
    old = open_store(store_url, revision="0001")
    with old.engine.connect() as conn:
        assert current_revision(conn) == "0001"
        assert "baselines" not in inspect(conn).get_table_names()
    run_id = old.create_run({"rounds": 3}, coder_model="c", judge_model="j", gpu_name="NVIDIA H100 80GB HBM3")
    old.add_task(make_task())
    made = [make_attempt(run_id, median_ms=2.0, profile=make_profile())]
    first = old.add_attempt(made[0])
    made.append(make_attempt(run_id, median_ms=1.0, round_=1, parent_attempt_id=first))
    fast = old.add_attempt(made[1])
    old.add_llm_call(make_llm_call(run_id))
    # Read back only after the upgrade: today's models name columns a revision-0001 table lacks.
    before = made
    old.close()

    upgraded = open_store(store_url)
    try:
        with upgraded.engine.connect() as conn:
            assert current_revision(conn) == "0004"
            indexes = {ix["name"] for ix in inspect(conn).get_indexes("attempts")}
        assert "ix_attempts_run_task_round" in indexes and "ix_attempts_run" not in indexes
        assert upgraded.attempts(run_id) == before
        assert upgraded.attempts_for_task("level1/19_ReLU")[1].id == fast
        assert upgraded.llm_calls(run_id) == [make_llm_call(run_id)]
        assert upgraded.task("level1/19_ReLU") == make_task()
        # The best entry written under 0001 is still the fast attempt, and 0002's table works.
        assert [b.attempt_id for b in upgraded.best_all()] == [fast]
        upgraded.put_baseline("level1/19_ReLU", "NVIDIA H100 80GB HBM3", "2.13", eager=None, compiled=None)
        assert upgraded.get_baseline("level1/19_ReLU", "NVIDIA H100 80GB HBM3", "2.13") is not None
        assert upgraded.best("level1/19_ReLU", "NVIDIA H100 80GB HBM3").verdict.status == Status.ok
    finally:
        upgraded.close()


def test_store_from_a_newer_kernelwright_is_refused_untouched(store_url: str) -> None:
    open_store(store_url).close()
    engine = create_engine(store_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0099'"))
    with pytest.raises(StoreError) as caught:
        open_store(store_url)
    message = str(caught.value)
    assert "schema revision 0099" in message and "newer" in message and "\n" not in message
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0099"
        assert "runs" in inspect(conn).get_table_names()
    engine.dispose()


def test_reopening_at_head_is_a_no_op(store_url: str) -> None:
    first = open_store(store_url)
    run_id = first.create_run({}, coder_model="c", judge_model="j", gpu_name="g")
    first.put_baseline(
        "level1/19_ReLU",
        "g",
        "2.13",
        eager=TimingStats(median_ms=1.0, iqr_ms=0.0, cv=0.0, trials=5),
        compiled=None,
    )
    first.close()
    again = open_store(store_url)
    assert [r.id for r in again.runs()] == [run_id]
    assert again.get_baseline("level1/19_ReLU", "g", "2.13").eager.median_ms == 1.0
    again.close()


OPEN_AND_WRITE = """
import sys, time
from kernelwright.store import open_store
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
store = open_store(sys.argv[1])
print(store.create_run({}, coder_model="c", judge_model="j", gpu_name="g"))
"""


def test_simultaneous_first_opens_of_a_blank_store_all_succeed(store_url: str) -> None:
    """Batch starts one worker per GPU; they may all find the store blank and migrate at once."""
    start_at = time.time() + 3  # after every process has imported the package
    procs = [
        subprocess.Popen([sys.executable, "-c", OPEN_AND_WRITE, store_url, str(start_at)], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]  # fmt: skip
    run_ids = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        run_ids.append(int(out))
    store = open_store(store_url)
    assert sorted(r.id for r in store.runs()) == sorted(run_ids) and len(set(run_ids)) == 4
    with store.engine.connect() as conn:
        assert current_revision(conn) == head_revision()
    store.close()
