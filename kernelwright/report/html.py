"""The HTML report: one self-contained file (inline CSS, JS and SVG; no CDN, opens offline)."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import UTC, datetime
from html import escape
from importlib.resources import files
from string import Template

from kernelwright.gpu.names import short_gpu_names
from kernelwright.report.leaderboard import FAST_P_THRESHOLDS, Leaderboard, TaskRow, fast_p
from kernelwright.report.svg import NO_CORRECT, PALETTE, Bar, Series, bar_chart, histogram, line_chart

Setup = tuple[str, str]  # (GPU name, coder model)


def _asset(name: str) -> str:
    return files("kernelwright.report").joinpath(name).read_text(encoding="utf-8")


def _by_setup(board: Leaderboard) -> dict[Setup, list[TaskRow]]:
    groups: dict[Setup, list[TaskRow]] = defaultdict(list)
    for row in board.tasks:
        groups[(row.gpu_name, row.model)].append(row)
    return dict(sorted(groups.items()))


def _colors(setups: list[Setup]) -> dict[Setup, str]:
    return {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(setups)}


def _legend(colors: dict[Setup, str]) -> str:
    items = "".join(
        f'<span><i style="background:{c}"></i>{escape(g)} / {escape(m)}</span>'
        for (g, m), c in colors.items()
    )
    return f'<div class="legend">{items}</div>'


def _speedup_bars(groups: dict[Setup, list[TaskRow]], colors: dict[Setup, str]) -> str:
    bars = []
    for setup, rows in groups.items():
        for r in rows:
            if r.correct:
                tip = (f"{r.task_key} on {setup[0]} ({setup[1]}): {r.best_speedup_vs_eager:.3g}x eager, "
                       f"{r.best_speedup_vs_compiled or 0:.3g}x compile, best in round {r.rounds_to_best}, "
                       f"{r.attempts} attempts")  # fmt: skip
                bars.append(
                    Bar(r.task_key.split("/")[-1], r.best_speedup_vs_eager or 0.0, tip, colors[setup])
                )
            else:
                tip = f"{r.task_key} on {setup[0]} ({setup[1]}): no correct kernel in {r.attempts} attempts"
                bars.append(Bar(r.task_key.split("/")[-1], 0.0, tip, NO_CORRECT))
    return bar_chart(
        bars, label="Best speedup over eager per task", ref_line=1.0, y_title="speedup (x eager)"
    )


def _fast_p_curve(groups: dict[Setup, list[TaskRow]], colors: dict[Setup, str]) -> str:
    top = max([r.best_speedup_vs_eager or 0.0 for rows in groups.values() for r in rows] + [2.0])
    ps = [top * i / 40 for i in range(41)]
    series = []
    for setup, rows in groups.items():
        points = [(p, fast_p(rows, p)) for p in ps]
        tips = [f"{setup[0]} / {setup[1]}: fast_{p:.2f} = {v:.2f}" for p, v in points]
        series.append(Series(f"{setup[0]} / {setup[1]}", points, tips, colors[setup]))
    return line_chart(
        series, label="fast_p curve", x_label="p (speedup threshold, x eager)", y_title="share of tasks"
    )


def _level_geomeans(board: Leaderboard, colors: dict[Setup, str]) -> str:
    # Compact names whole ('L1 H100', 'all A100'), never a cut that reads as another GPU ('NVIDIA H10').
    short = short_gpu_names((s.gpu_name for s in board.summary), compact=True)
    bars = [
        Bar(f"{'all' if s.level == 'all' else 'L' + s.level} {short[s.gpu_name]}", s.geomean_speedup or 0.0,
            f"{s.gpu_name} / {s.model}, level {s.level}: geomean {s.geomean_speedup or 0:.3g}x over "
            f"{s.correct} correct of {s.tasks} tasks", colors.get((s.gpu_name, s.model), PALETTE[0]))
        for s in board.summary
    ]  # fmt: skip
    return bar_chart(
        bars, label="Geometric-mean speedup per level", ref_line=1.0, y_title="geomean (x eager)"
    )


def _rounds_curve(groups: dict[Setup, list[TaskRow]], colors: dict[Setup, str]) -> str:
    """Per setup: the median over tasks of the best correct speedup found up to each round."""
    series = []
    for setup, rows in groups.items():
        last = max((len(r.best_by_round) for r in rows), default=0)
        points, tips = [], []
        for rnd in range(last):
            # a task stops early when it converges: its best so far carries over to later rounds
            values = [r.best_by_round[min(rnd, len(r.best_by_round) - 1)] for r in rows if r.best_by_round]
            present = [v for v in values if v is not None]
            if present:
                points.append((float(rnd), statistics.median(present)))
                tips.append(f"{setup[0]} / {setup[1]}, round {rnd}: median best {points[-1][1]:.3g}x "
                            f"over {len(present)} tasks with a correct kernel")  # fmt: skip
        series.append(Series(f"{setup[0]} / {setup[1]}", points, tips, colors[setup]))
    return line_chart(series, label="Speedup over rounds", x_label="round", y_title="speedup (x eager)")


def _summary_table(board: Leaderboard) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("GPU", "model", "level", "tasks", "correct %", "geomean",
                                             *(f"fast_{p:g}" for p in FAST_P_THRESHOLDS), "median s", "median $"))  # fmt: skip
    rows = []
    for s in board.summary:
        cells = [escape(s.gpu_name), escape(s.model), s.level, str(s.tasks), f"{s.correctness_pct:.1f}",
                 "-" if s.geomean_speedup is None else f"{s.geomean_speedup:.3f}x",
                 *(f"{s.fast_p[f'{p:g}']:.2f}" for p in FAST_P_THRESHOLDS),
                 "-" if s.median_wall_s is None else f"{s.median_wall_s:.1f}",
                 "-" if s.median_cost_usd is None else f"{s.median_cost_usd:.4f}"]  # fmt: skip
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def _task_table(board: Leaderboard) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("task", "GPU", "model", "correct", "vs eager", "vs compile",
                                             "attempts", "round of best", "$", "time s"))  # fmt: skip
    rows = []
    for r in board.tasks:

        def num(v: float | None, fmt: str) -> str:
            return '<td data-v="-1">-</td>' if v is None else f'<td data-v="{v}">{format(v, fmt)}</td>'

        rows.append(
            f"<tr><td>{escape(r.task_key)}</td><td>{escape(r.gpu_name)}</td><td>{escape(r.model)}</td>"
            + ("<td>yes</td>" if r.correct else '<td class="bad">no</td>')
            + num(r.best_speedup_vs_eager, ".3f") + num(r.best_speedup_vs_compiled, ".3f")
            + f"<td>{r.attempts}</td>" + num(r.rounds_to_best, "d") + num(r.cost_usd, ".4f")
            + num(r.wall_s, ".1f") + "</tr>"
        )  # fmt: skip
    return f'<table id="tasks"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _card(title: str, content: str) -> str:
    return f'<div class="card"><h2>{escape(title)}</h2>{content}</div>'


def render_report(board: Leaderboard, *, source: str, title: str = "kernelwright report") -> str:
    """The whole report as one HTML string."""
    groups = _by_setup(board)
    colors = _colors(list(groups))
    costs = [r.cost_usd for r in board.tasks]
    walls = [r.wall_s for r in board.tasks if r.wall_s is not None]
    charts = [
        _card("Best speedup over eager, per task (red: no correct kernel)", _speedup_bars(groups, colors)),
        _card("fast_p: share of tasks correct and faster than p x eager", _fast_p_curve(groups, colors)),
        _card("Geometric-mean speedup per level", _level_geomeans(board, colors)),
        _card("Best speedup so far, by round (median over tasks)", _rounds_curve(groups, colors)),
        _card("LLM cost per task", histogram(costs, label="Cost per task", unit="USD")),
        _card("Wall time per task", histogram(walls, label="Time per task", unit="s")),
    ]
    body = (
        _legend(colors)
        + _card("Summary", _summary_table(board))
        + f'<div class="grid2">{"".join(charts)}</div>'
        + _card("Tasks (click a header to sort)", _task_table(board))
    )
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    meta = f"{len(board.tasks)} task results from {escape(source)}; generated {stamp}."
    return Template(_asset("report.html")).substitute(
        title=escape(title), meta=meta, body=body, css=_asset("report.css"), js=_asset("report.js")
    )
