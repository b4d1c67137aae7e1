"""Leaderboard figures on the fixture store equal the ones computed by hand (see conftest.PLAN)."""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kernelwright.report.build import leaderboard_from_engine
from kernelwright.report.facts import FactFilter, attempt_facts, run_facts
from kernelwright.report.leaderboard import Leaderboard, SummaryRow, TaskRow, build_leaderboard
from kernelwright.report.tables import to_csv

from .conftest import A100, H100, FixtureStore, build_fixture_store


def _row(board: Leaderboard, key: str, gpu: str, model: str) -> TaskRow:
    (row,) = [r for r in board.tasks if (r.task_key, r.gpu_name, r.model) == (key, gpu, model)]
    return row


def _summary(board: Leaderboard, gpu: str, model: str, level: str) -> SummaryRow:
    (row,) = [s for s in board.summary if (s.gpu_name, s.model, s.level) == (gpu, model, level)]
    return row


def test_task_rows_match_hand_computed(fixture_store: FixtureStore) -> None:
    board = leaderboard_from_engine(fixture_store.store.engine)
    assert len(board.tasks) == 6  # the compile-only attempt (gpu 'none') is not ranked

    a = _row(board, "level1/1_A", H100, "m1")
    assert (a.correct, a.best_speedup_vs_eager, a.best_speedup_vs_compiled) == (True, 2.5, 1.25)
    assert (a.attempts, a.rounds_to_best) == (3, 2)
    assert a.cost_usd == pytest.approx(0.30)
    assert a.best_by_round == [None, 1.5, 2.5]

    b = _row(board, "level1/2_B", H100, "m1")  # the 20x 'suspicious' attempt never becomes best
    assert (b.correct, b.best_speedup_vs_eager, b.best_speedup_vs_compiled, b.rounds_to_best) == (
        True,
        0.8,
        0.5,
        0,
    )

    c = _row(board, "level1/3_C", H100, "m1")
    assert (c.correct, c.best_speedup_vs_eager, c.attempts, c.rounds_to_best) == (False, None, 2, None)
    assert c.cost_usd == pytest.approx(0.40)

    b2 = _row(board, "level1/2_B", H100, "m2")  # fastest (lowest median) wins, round 0
    assert (b2.best_speedup_vs_eager, b2.rounds_to_best, b2.cost_usd) == (3.0, 0, pytest.approx(0.03))
    assert _row(board, "level1/1_A", A100, "m1").best_speedup_vs_eager == 1.8

    # the best attempt is the one the store's own `best` table holds for (task, GPU) and model m1
    best = {(e.task_key, e.gpu_name): e.attempt_id for e in fixture_store.store.best_all()}
    assert a.best_attempt_id == best[("level1/1_A", H100)]
    assert b2.best_attempt_id == best[("level1/2_B", H100)]


def test_wall_time_comes_from_the_run(fixture_store: FixtureStore) -> None:
    board = leaderboard_from_engine(fixture_store.store.engine)
    run = fixture_store.store.run(fixture_store.runs[f"level2/4_D@{H100}@m1"])
    assert run is not None and run.finished_at is not None
    expected = (run.finished_at - run.started_at).total_seconds()
    assert _row(board, "level2/4_D", H100, "m1").wall_s == pytest.approx(expected)


def test_summary_rows_match_hand_computed(fixture_store: FixtureStore) -> None:
    board = leaderboard_from_engine(fixture_store.store.engine)
    l1 = _summary(board, H100, "m1", "1")
    assert (l1.tasks, l1.correct) == (3, 2)
    assert l1.correctness_pct == pytest.approx(200 / 3)
    assert l1.geomean_speedup == pytest.approx(math.sqrt(2.5 * 0.8))
    assert l1.fast_p == pytest.approx({"0": 2 / 3, "0.5": 2 / 3, "1": 1 / 3, "1.5": 1 / 3, "2": 1 / 3})
    assert l1.median_cost_usd == pytest.approx(0.30)

    l2 = _summary(board, H100, "m1", "2")
    assert (l2.tasks, l2.correct, l2.geomean_speedup) == (1, 1, pytest.approx(1.2))
    assert l2.fast_p == pytest.approx({"0": 1, "0.5": 1, "1": 1, "1.5": 0, "2": 0})

    total = _summary(board, H100, "m1", "all")
    assert (total.tasks, total.correct, total.correctness_pct) == (4, 3, 75.0)
    assert total.geomean_speedup == pytest.approx((2.5 * 0.8 * 1.2) ** (1 / 3))
    assert total.fast_p == pytest.approx({"0": 0.75, "0.5": 0.75, "1": 0.5, "1.5": 0.25, "2": 0.25})
    assert total.median_cost_usd == pytest.approx((0.15 + 0.30) / 2)

    assert _summary(board, A100, "m1", "all").fast_p == pytest.approx(
        {"0": 1, "0.5": 1, "1": 1, "1.5": 1, "2": 0}
    )
    assert _summary(board, H100, "m2", "all").fast_p["2"] == 1.0
    assert {(s.gpu_name, s.model) for s in board.summary} == {(H100, "m1"), (A100, "m1"), (H100, "m2")}


def test_filters_narrow_by_gpu_model_and_level(fixture_store: FixtureStore) -> None:
    engine = fixture_store.store.engine
    assert [r.gpu_name for r in leaderboard_from_engine(engine, FactFilter(gpu_name=A100)).tasks] == [A100]
    assert {r.task_key for r in leaderboard_from_engine(engine, FactFilter(level=2)).tasks} == {"level2/4_D"}
    only_m2 = leaderboard_from_engine(engine, FactFilter(model="m2"))
    assert [(r.task_key, r.model) for r in only_m2.tasks] == [("level1/2_B", "m2")]


def _cli(*args: str, cwd: Path, columns: int = 220) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kernelwright", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env={**os.environ, "COLUMNS": str(columns)},
    )


def test_cli_json_and_csv_carry_the_same_figures(fixture_store: FixtureStore, tmp_path: Path) -> None:
    out = _cli("leaderboard", "--json", "--db", fixture_store.url, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    board = Leaderboard.model_validate(json.loads(out.stdout))
    assert board == leaderboard_from_engine(fixture_store.store.engine)

    out = _cli("leaderboard", "--csv", "--level", "1", "--gpu", H100, "--db", fixture_store.url, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    summary = {(r["model"], r["level"]): r for r in rows if r["row"] == "summary"}
    assert float(summary[("m1", "1")]["fast_1"]) == pytest.approx(1 / 3)
    assert float(summary[("m1", "all")]["geomean_speedup"]) == pytest.approx(math.sqrt(2.0))
    assert out.stdout == to_csv(
        leaderboard_from_engine(fixture_store.store.engine, FactFilter(gpu_name=H100, level=1))
    )


def test_cli_table_and_user_errors(fixture_store: FixtureStore, tmp_path: Path) -> None:
    out = _cli("leaderboard", "--db", fixture_store.url, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert "level1/1_A" in out.stdout and ">1.5x" in out.stdout

    both = _cli("leaderboard", "--json", "--csv", "--db", fixture_store.url, cwd=tmp_path)
    assert both.returncode != 0 and "Traceback" not in both.stderr
    assert "one of --json and --csv" in both.stderr

    bad = _cli("leaderboard", "--db", f"sqlite:///{tmp_path}/no/such/dir/x.db", cwd=tmp_path)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_the_table_fits_80_columns_with_nothing_cut(fixture_store: FixtureStore, tmp_path: Path) -> None:
    out = _cli("leaderboard", "--db", fixture_store.url, cwd=tmp_path, columns=80)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "…" not in out.stdout
    # Short GPU names head one table per GPU and model; every task key and figure is whole.
    assert "Best kernel per task on H100 80GB · m1" in out.stdout and "NVIDIA" not in out.stdout
    for key in ("level1/1_A", "level1/2_B", "level1/3_C", "level2/4_D"):
        assert key in out.stdout
    assert re.search(r"level1/1_A\s+yes\s+2\.50x\s+1\.25x\s+3\s+2\s+0\.3000", out.stdout)


def test_csv_floats_are_rounded_to_ten_digits() -> None:
    row = TaskRow(task_key="level1/1_A", level=1, gpu_name="g", model="m", correct=True, attempts=1,
                  cost_usd=0.1 + 0.2, best_speedup_vs_eager=2.5)  # fmt: skip
    text = to_csv(Leaderboard(tasks=[row], summary=[]))
    assert ",0.3," in text and "0.30000000000000004" not in text and ",2.5," in text


def test_sql_aggregation_agrees_with_the_pure_one(fixture_store: FixtureStore) -> None:
    """The store path aggregates in SQL; the pure path groups every attempt row in Python."""
    engine = fixture_store.store.engine
    for where in (FactFilter(), FactFilter(gpu_name=H100), FactFilter(model="m1", level=1)):
        facts = attempt_facts(engine, where)
        pure = build_leaderboard(facts, run_facts(engine, {f.run_id for f in facts}))
        assert leaderboard_from_engine(engine, where) == pure


@pytest.mark.postgres
def test_postgres_store_gives_the_same_leaderboard(fixture_store: FixtureStore, pg_url: str) -> None:
    on_pg = build_fixture_store(pg_url)
    try:

        def without_time(board: Leaderboard) -> Leaderboard:
            for row in board.tasks:
                row.wall_s = None
            for s in board.summary:
                s.median_wall_s = None
            return board

        pg_board = without_time(leaderboard_from_engine(on_pg.store.engine))
        lite_board = without_time(leaderboard_from_engine(fixture_store.store.engine))
        assert pg_board.summary == lite_board.summary
        strip = [r.model_copy(update={"best_attempt_id": None}) for r in pg_board.tasks]
        assert strip == [r.model_copy(update={"best_attempt_id": None}) for r in lite_board.tasks]
    finally:
        on_pg.store.close()
