"""The leaderboard as text: rich tables for the terminal, JSON and CSV for other tools."""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from typing import Any

from rich import box
from rich.table import Table

from kernelwright.gpu.names import short_gpu_names
from kernelwright.report.leaderboard import FAST_P_THRESHOLDS, Leaderboard, SummaryRow, TaskRow


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _num(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


# The table fits 80 columns (a pipe, a narrow terminal) with nothing cut: one table per GPU and
# model (so neither is a column), short GPU names, short headers, no vertical rules, and text cells
# that wrap (fold) instead of ending in '…'.
def _table(title: str) -> Table:
    return Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )


def _pairs(gpus_models: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(dict.fromkeys(gpus_models))


def _heading(gpu: str, model: str, short: dict[str, str]) -> str:
    return f"{short[gpu]} · {model}"


def task_tables(rows: list[TaskRow]) -> list[Table]:
    """The best kernel per task, one table per (GPU, model)."""
    short = short_gpu_names(r.gpu_name for r in rows)
    tables = []
    for gpu, model in _pairs([(r.gpu_name, r.model) for r in rows]):
        table = _table(f"Best kernel per task on {_heading(gpu, model, short)}")
        table.add_column("task", overflow="fold")
        for col in ("ok", "eager", "compile", "tries", "round", "$", "s"):
            table.add_column(col, justify="right", no_wrap=True)
        for r in rows:
            if (r.gpu_name, r.model) != (gpu, model):
                continue
            table.add_row(
                r.task_key,
                "yes" if r.correct else "[red]no[/]",
                _x(r.best_speedup_vs_eager),
                _x(r.best_speedup_vs_compiled),
                str(r.attempts),
                "-" if r.rounds_to_best is None else str(r.rounds_to_best),
                f"{r.cost_usd:.4f}",
                _num(r.wall_s, ".1f"),
            )
        tables.append(table)
    return tables


# fast_0 (correct at any speed) repeats the correct column; CSV and JSON keep it.
_SHOWN_P = [p for p in FAST_P_THRESHOLDS if p > 0]


def summary_tables(rows: list[SummaryRow]) -> list[Table]:
    """Per level and over all levels, one table per (GPU, model); `>px` is fast_p, the share of tasks
    correct and faster than p times eager."""
    short = short_gpu_names(s.gpu_name for s in rows)
    tables = []
    for gpu, model in _pairs([(s.gpu_name, s.model) for s in rows]):
        table = _table(f"Summary on {_heading(gpu, model, short)} (>px: share correct and > p x eager)")
        for col in (
            "level",
            "tasks",
            "correct",
            "geomean",
            *(f">{p:g}x" for p in _SHOWN_P),
            "med. s",
            "med. $",
        ):
            table.add_column(col, justify="left" if col == "level" else "right", no_wrap=True)
        for s in rows:
            if (s.gpu_name, s.model) != (gpu, model):
                continue
            table.add_row(
                s.level,
                str(s.tasks),
                f"{s.correctness_pct:.0f}%",
                _x(s.geomean_speedup),
                *(f"{s.fast_p[f'{p:g}']:.2f}" for p in _SHOWN_P),
                _num(s.median_wall_s, ".1f"),
                _num(s.median_cost_usd, ".4f"),
            )
        tables.append(table)
    return tables


def to_json(board: Leaderboard) -> str:
    return board.model_dump_json(indent=2)


def _csv_value(value: object) -> object:
    """Floats to 10 significant digits: sums of costs print 0.3, not 0.30000000000000004."""
    return format(value, ".10g") if isinstance(value, float) else value


def to_csv(board: Leaderboard) -> str:
    """One CSV with a `row` column ('task' or 'summary') so both tables travel in one file."""
    fast_cols = [f"fast_{p:g}" for p in FAST_P_THRESHOLDS]
    cols = [
        "row", "task", "gpu", "model", "level", "correct", "speedup_vs_eager", "speedup_vs_compiled",
        "attempts", "rounds_to_best", "cost_usd", "wall_s", "tasks", "correctness_pct", "geomean_speedup",
        *fast_cols, "median_wall_s", "median_cost_usd",
    ]  # fmt: skip
    buf = io.StringIO()
    writer = _RoundingWriter(buf, fieldnames=cols, lineterminator="\n")
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


class _RoundingWriter(csv.DictWriter):  # type: ignore[type-arg]
    def writerow(self, rowdict: Mapping[str, Any]) -> Any:
        return super().writerow({k: _csv_value(v) for k, v in rowdict.items()})
