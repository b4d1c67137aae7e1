"""The live view of one optimize run: round and mode, each candidate's status, best speedup, dollars,
and LLM calls queueing for their endpoint. Compile-only runs say 'compiled' where a GPU run says
'ok': a kernel that only compiled has not been shown correct (it may even compute the wrong op)."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text

from kernelwright.agents.call_limit import EndpointLimits
from kernelwright.agents.loop import LoopEvent
from kernelwright.contracts import Status

_STYLE = {Status.ok: "green", Status.suspicious: "yellow", Status.rejected: "magenta"}


class ProgressView:
    """Fed by the loop's events; rendered by rich.live.Live through __rich__."""

    def __init__(
        self,
        task_key: str,
        rounds: int,
        candidates: int,
        *,
        compile_only: bool = False,
        limits: EndpointLimits | None = None,
    ):
        self.compile_only = compile_only
        self.limits = limits
        self.task_key = task_key
        self.rounds = rounds
        self.candidates = candidates
        self.round = -1
        self.mode = ""
        self.slots: dict[int, str] = {}
        self.best_speedup: float | None = None
        self.best_status = ""
        self.spent_usd = 0.0
        self.attempts = 0

    def on_event(self, event: LoopEvent) -> None:
        self.spent_usd = max(self.spent_usd, event.spent_usd)
        if event.kind == "round":
            self.round, self.mode, self.slots = event.round, event.text, {}
        elif event.kind == "candidate" and event.candidate_index is not None:
            self.slots[event.candidate_index] = event.text
        elif event.kind == "best" and event.attempt is not None:
            # the loop's own choice, after re-timing: it may keep a kernel slower than a lucky reading
            self.best_speedup = event.attempt.verdict.speedup_vs_eager
        elif event.kind == "attempt" and event.attempt is not None and event.candidate_index is not None:
            self.attempts += 1
            v = event.attempt.verdict
            status = self._status_word(v.status)
            text = status + (f" {v.speedup_vs_eager:.2f}x" if v.speedup_vs_eager is not None else "")
            self.slots[event.candidate_index] = text
            if v.status == Status.ok:
                speed = v.speedup_vs_eager
                if speed is not None and (self.best_speedup is None or speed > self.best_speedup):
                    self.best_speedup = speed
                self.best_status = status

    def _status_word(self, status: Status) -> str:
        return "compiled" if self.compile_only and status == Status.ok else status.value

    def __rich__(self) -> Group:
        if self.compile_only:
            outcome = "compiled" if self.best_status else "nothing compiled yet"
        elif self.best_speedup is not None:
            outcome = f"best {self.best_speedup:.2f}x"
        else:
            outcome = f"best {self.best_status or 'none yet'}"
        head = Text.assemble(
            (f"{self.task_key}", "bold"),
            f"  round {self.round + 1}/{self.rounds} ({self.mode or 'starting'})",
            f"  {outcome}  attempts {self.attempts}  ${self.spent_usd:.4f}",
        )
        table = Table(show_header=True, header_style="dim", box=None)
        table.add_column("candidate")
        table.add_column("status")
        for k in sorted(self.slots):
            status = self.slots[k]
            style = next((s for st, s in _STYLE.items() if status.startswith(st.value)), "")
            table.add_row(str(k), Text(status, style="green" if status == "compiled" else style))
        queueing = self.limits.queue_line() if self.limits is not None else None
        if queueing:
            return Group(head, Text(queueing, style="yellow"), table)
        return Group(head, table)
