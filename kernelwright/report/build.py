"""Library entry points behind `kernelwright leaderboard` and `kernelwright report`."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from kernelwright.errors import KernelwrightError
from kernelwright.report.facts import FactFilter, attempt_facts, run_facts
from kernelwright.report.html import render_report
from kernelwright.report.leaderboard import Leaderboard, build_leaderboard


def leaderboard_from_engine(engine: Engine, where: FactFilter = FactFilter()) -> Leaderboard:
    facts = attempt_facts(engine, where)
    runs = run_facts(engine, {f.run_id for f in facts})
    return build_leaderboard(facts, runs)


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
