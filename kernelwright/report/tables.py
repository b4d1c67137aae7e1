"""The leaderboard as text: rich tables for the terminal, JSON and CSV for other tools."""

from __future__ import annotations

import csv
import io

from rich.table import Table

from kernelwright.report.leaderboard import FAST_P_THRESHOLDS, Leaderboard, SummaryRow, TaskRow


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def task_table(rows: list[TaskRow]) -> Table:
    table = Table(title="Best kernel per task", title_justify="left")
    for col in (
        "task",
        "GPU",
        "model",
        "correct",
        "vs eager",
        "vs compile",
        "attempts",
        "round",
        "$",
        "time s",
    ):
        table.add_column(col, justify="left" if col in ("task", "GPU", "model") else "right")
    for r in rows:
        table.add_row(
            r.task_key,
            r.gpu_name,
            r.model,
            "yes" if r.correct else "[red]no[/]",
            _x(r.best_speedup_vs_eager),
            _x(r.best_speedup_vs_compiled),
            str(r.attempts),
            "-" if r.rounds_to_best is None else str(r.rounds_to_best),
            f"{r.cost_usd:.4f}",
            _num(r.wall_s, ".1f"),
        )
    return table


def summary_table(rows: list[SummaryRow]) -> Table:
    table = Table(title="Summary (fast_p: correct and faster than p x eager)", title_justify="left")
    for col in ("GPU", "model", "level", "tasks", "correct %", "geomean"):
        table.add_column(col, justify="left" if col in ("GPU", "model", "level") else "right")
    for p in FAST_P_THRESHOLDS:
        table.add_column(f"fast_{p:g}", justify="right")
    table.add_column("median s", justify="right")
    table.add_column("median $", justify="right")
    for s in rows:
        table.add_row(
            s.gpu_name,
            s.model,
            s.level,
            str(s.tasks),
            f"{s.correctness_pct:.1f}",
            _x(s.geomean_speedup),
            *(f"{s.fast_p[f'{p:g}']:.2f}" for p in FAST_P_THRESHOLDS),
            _num(s.median_wall_s, ".1f"),
            _num(s.median_cost_usd, ".4f"),
        )
    return table


def to_json(board: Leaderboard) -> str:
    return board.model_dump_json(indent=2)


def to_csv(board: Leaderboard) -> str:
    """One CSV with a `row` column ('task' or 'summary') so both tables travel in one file."""
    fast_cols = [f"fast_{p:g}" for p in FAST_P_THRESHOLDS]
    cols = [
        "row", "task", "gpu", "model", "level", "correct", "speedup_vs_eager", "speedup_vs_compiled",
        "attempts", "rounds_to_best", "cost_usd", "wall_s", "tasks", "correctness_pct", "geomean_speedup",
        *fast_cols, "median_wall_s", "median_cost_usd",
    ]  # fmt: skip
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=cols, lineterminator="\n")
    writer.writeheader()
    for r in board.tasks:
        writer.writerow(
            {
                "row": "task",
                "task": r.task_key,
                "gpu": r.gpu_name,
                "model": r.model,
                "level": r.level,
                "correct": int(r.correct),
                "speedup_vs_eager": r.best_speedup_vs_eager,
                "speedup_vs_compiled": r.best_speedup_vs_compiled,
                "attempts": r.attempts,
                "rounds_to_best": r.rounds_to_best,
                "cost_usd": r.cost_usd,
                "wall_s": r.wall_s,
            }
        )
    for s in board.summary:
        row = {
            "row": "summary",
            "gpu": s.gpu_name,
            "model": s.model,
            "level": s.level,
            "tasks": s.tasks,
            "correctness_pct": s.correctness_pct,
            "geomean_speedup": s.geomean_speedup,
            "median_wall_s": s.median_wall_s,
            "median_cost_usd": s.median_cost_usd,
        }
        row.update({f"fast_{p:g}": s.fast_p[f"{p:g}"] for p in FAST_P_THRESHOLDS})
        writer.writerow(row)
    return buf.getvalue()
