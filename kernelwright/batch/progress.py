"""The live view of a batch (tasks done, best speedups, ETA, dollars) and its end-of-run summary."""

from __future__ import annotations

import time

from rich.console import Group, RenderableType
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from kernelwright.batch.pools import LocalPool, RayPool
from kernelwright.batch.runner import BatchState, TaskOutcome

RECENT = 8


def _eta_s(state: BatchState) -> float | None:
    """Remaining time from this session's pace; skipped tasks took no time and do not count."""
    worked = [o for o in state.outcomes if o.status != "skipped"]
    remaining = state.total - state.finished
    if not worked or remaining <= 0:
        return None
    return (time.monotonic() - state.started) / len(worked) * remaining


def _clock(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    m, s = divmod(int(seconds), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _speed(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def outcome_table(outcomes: list[TaskOutcome], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for col in ("task", "status", "best vs eager", "attempts", "run"):
        table.add_column(col, justify="left" if col in ("task", "status") else "right")
    for o in outcomes:
        style = {"failed": "red", "skipped": "dim"}.get(o.status, "")
        table.add_row(o.task_key, Text(o.status, style=style), _speed(o.best_speedup), str(o.attempts),
                      str(o.run_id or "-"))  # fmt: skip
    return table


class BatchView:
    """A rich renderable redrawn by Live from the shared BatchState (read-only here)."""

    def __init__(self, state_ref: dict[str, BatchState], total: int, pool: LocalPool | RayPool):
        self.state_ref = state_ref
        self.total = total
        self.pool = pool

    def __rich__(self) -> RenderableType:
        state: BatchState | None = self.state_ref.get("state")
        if state is None:
            return Text("starting the batch...")
        done = state.finished
        counts = {s: sum(1 for o in state.outcomes if o.status == s) for s in ("skipped", "failed")}
        stats = self.pool.stats
        queue = f" · evals queued {stats.queued} running {stats.running}"
        head = Text(
            f"tasks {done}/{state.total} (skipped {counts['skipped']}, failed {counts['failed']}) · "
            f"agents running {len(state.running)}{queue} · LLM ${state.meter.cost_usd:.4f} "
            f"({state.meter.calls} calls, {state.meter.replayed} replayed) · "
            f"elapsed {_clock(time.monotonic() - state.started)} · ETA {_clock(_eta_s(state))}"
        )
        bar = ProgressBar(total=max(state.total, 1), completed=done, width=60)
        recent = outcome_table(state.outcomes[-RECENT:], "latest tasks")
        queueing = state.llm_limits.queue_line() if state.llm_limits is not None else None
        if queueing:
            return Group(head, Text(queueing, style="yellow"), bar, recent)
        return Group(head, bar, recent)


def _tasks(n: int) -> str:
    return f"{n} task" if n == 1 else f"{n} tasks"


def summary_lines(state: BatchState) -> list[str]:
    worked = [o for o in state.outcomes if o.status not in ("skipped", "failed")]
    speedups = [o.best_speedup for o in state.outcomes if o.best_speedup is not None]
    faster = sum(1 for s in speedups if s > 1.0)
    lines = [
        f"batch run {state.batch_run_id}: {_tasks(len(state.outcomes))}, {len(worked)} run now, "
        f"{sum(o.status == 'skipped' for o in state.outcomes)} already done, "
        f"{sum(o.status == 'failed' for o in state.outcomes)} failed.",
        f"{_tasks(len(speedups))} with a correct kernel, {faster} faster than eager; "
        f"LLM ${state.meter.cost_usd:.4f} this session; {_clock(time.monotonic() - state.started)} elapsed.",
    ]
    for o in state.outcomes:
        if o.status == "failed":
            lines.append(f"failed: {o.task_key}: {o.message}")
    return lines
