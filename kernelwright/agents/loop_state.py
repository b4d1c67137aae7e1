"""What the loop knows, rebuilt from stored attempts only, so that a resumed run decides exactly as
the uninterrupted one would have: which slots are done, the best correct kernel, the stall count."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from kernelwright.contracts import Attempt, Status, Verdict
from kernelwright.interfaces import RunLog

MALFORMED_RULE = "malformed-reply"

# How promising a failed attempt is as the base of a repair: closer to working ranks higher.
_REPAIR_RANK = {
    Status.incorrect: 5,
    Status.suspicious: 5,
    Status.runtime_error: 4,
    Status.timeout: 4,
    Status.crashed: 3,
    Status.compile_error: 2,
    Status.rejected: 1,
}


def malformed_verdict(reason: str) -> Verdict:
    """A reply with no usable code is recorded as a rejected attempt under its own rule."""
    return Verdict(status=Status.rejected, rule=MALFORMED_RULE, message=reason)


def is_malformed(attempt: Attempt) -> bool:
    return attempt.verdict.status == Status.rejected and attempt.verdict.rule == MALFORMED_RULE


@dataclass
class Recorded:
    """An attempt with its store id (resumed attempts name their parents by it)."""

    id: int
    attempt: Attempt


@dataclass
class LoopState:
    candidates: int
    recorded: list[Recorded] = field(default_factory=list)

    @classmethod
    def load(cls, store: RunLog, run_id: int, task_key: str, candidates: int) -> LoopState:
        stored = store.attempts_for_task(task_key)
        rows = [Recorded(s.id, s.attempt) for s in stored if s.attempt.run_id == run_id]
        rows.sort(key=lambda r: (r.attempt.round, r.attempt.candidate_index))
        return cls(candidates, rows)

    def add(self, row: Recorded) -> None:
        """Keeps rows in slot order, not completion order, so that prompts built from a round read
        the same in a clean run and in a resumed one."""
        bisect.insort(self.recorded, row, key=lambda r: (r.attempt.round, r.attempt.candidate_index))

    @property
    def attempts(self) -> list[Attempt]:
        return [r.attempt for r in self.recorded]

    def missing_slots(self, rnd: int) -> list[int]:
        """Slots of a round with no attempt yet; a malformed reply's retry is stored at slot + K."""
        done = {r.attempt.candidate_index % self.candidates for r in self.recorded if r.attempt.round == rnd}
        return [k for k in range(self.candidates) if k not in done]

    def in_round(self, rnd: int) -> list[Recorded]:
        return [r for r in self.recorded if r.attempt.round == rnd]

    def last_round(self, before: int) -> list[Recorded]:
        rounds = [r.attempt.round for r in self.recorded if r.attempt.round < before]
        return self.in_round(max(rounds)) if rounds else []

    def best(self, upto_round: int | None = None) -> Recorded | None:
        """The fastest `ok` attempt (never `suspicious`); with no timings, the earliest `ok`."""
        pool = [
            r
            for r in self.recorded
            if r.attempt.verdict.status == Status.ok and (upto_round is None or r.attempt.round <= upto_round)
        ]
        if not pool:
            return None
        return max(pool, key=lambda r: (_speedup(r.attempt), -r.attempt.round, -r.attempt.candidate_index))

    def stalled_rounds(self) -> int:
        """Rounds since the best last improved, counted only once a correct kernel exists."""
        rounds = sorted({r.attempt.round for r in self.recorded})
        stalled, best = 0, None
        for rnd in rounds:
            now = self.best(rnd)
            if now is None:
                continue
            if best is None or _speedup(now.attempt) > _speedup(best.attempt):
                stalled = 0
            else:
                stalled += 1
            best = now
        return stalled


def pick_repair_base(rows: Sequence[Recorded]) -> Recorded | None:
    """The most promising failed attempt of a round; None when every reply was malformed."""
    usable = [r for r in rows if not is_malformed(r.attempt)]
    if not usable:
        return None
    return max(
        usable, key=lambda r: (_REPAIR_RANK.get(r.attempt.verdict.status, 0), -r.attempt.candidate_index)
    )


def pick_current(rows: Sequence[Recorded]) -> Recorded | None:
    """The latest round's most interesting attempt for the Judge: its fastest correct one, else the
    most promising failure."""
    ok = [r for r in rows if r.attempt.verdict.status == Status.ok]
    if ok:
        return max(ok, key=lambda r: _speedup(r.attempt))
    return pick_repair_base(rows)


def _speedup(attempt: Attempt) -> float:
    s = attempt.verdict.speedup_vs_eager
    return s if s is not None else float("-inf")
