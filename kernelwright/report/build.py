"""Library entry points behind `kernelwright leaderboard` and `kernelwright report`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from kernelwright.errors import KernelwrightError
from kernelwright.report.facts import FactFilter, run_facts, task_groups
from kernelwright.report.html import render_report
from kernelwright.report.leaderboard import Leaderboard, leaderboard_from_groups


def leaderboard_from_engine(engine: Engine, where: FactFilter = FactFilter()) -> Leaderboard:
    groups = task_groups(engine, where)
    runs = run_facts(engine, {run_id for g in groups for run_id in g.run_ids})
    return leaderboard_from_groups(groups, runs)


def write_html_report(
    engine: Engine, out: Path, *, source: str, where: FactFilter = FactFilter()
) -> Leaderboard:
    """Writes the report file and returns the leaderboard it shows."""
    board = leaderboard_from_engine(engine, where)
    html = render_report(board, source=source)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html, encoding="utf-8")
    except OSError as err:
        raise KernelwrightError(f"Cannot write the report to {out}: {err.strerror or err}.") from None
    return board
