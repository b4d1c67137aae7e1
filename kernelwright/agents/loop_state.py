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


RETIMED_MODE = "reeval"
# Failures worth a repair slot once a correct kernel exists: code that ran or compiled but is wrong.
_REPAIRABLE = {Status.compile_error, Status.incorrect, Status.runtime_error, Status.crashed, Status.timeout}


@dataclass
class LoopState:
    """`recorded`: the candidates of every slot; `retimed`: re-timings (mode 'reeval') of a round's
    new best and the best it would replace, measured back to back before the switch."""

    candidates: int
    recorded: list[Recorded] = field(default_factory=list)
    retimed: list[Recorded] = field(default_factory=list)

    @classmethod
    def load(cls, store: RunLog, run_id: int, task_key: str, candidates: int) -> LoopState:
        stored = store.attempts_for_task(task_key)
        state = cls(candidates)
        for s in stored:
            if s.attempt.run_id == run_id:
                state.add(Recorded(s.id, s.attempt))
        return state

    def add(self, row: Recorded) -> None:
        """Keeps rows in slot order, not completion order, so that prompts built from a round read
        the same in a clean run and in a resumed one."""
        if row.attempt.mode == RETIMED_MODE:
            self.retimed.append(row)
            return
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
        """The best `ok` attempt (never `suspicious`), decided round by round: a round's fastest
        replaces the best only when it reads faster and, where both were re-timed back to back, is
        faster on that re-timing too. With no timings, the earliest `ok`."""
        champion: Recorded | None = None
        for rnd in sorted({r.attempt.round for r in self.recorded}):
            if upto_round is not None and rnd > upto_round:
                break
            challenger = self.round_fastest(rnd)
            if challenger is None:
                continue
            if champion is None:
                champion = challenger
            elif _speedup(challenger.attempt) > _speedup(champion.attempt):
                retimed = self.retiming(rnd, challenger, champion)
                if retimed is None or retimed[0] > retimed[1]:
                    champion = challenger
        return champion

    def round_fastest(self, rnd: int) -> Recorded | None:
        ok = [r for r in self.in_round(rnd) if r.attempt.verdict.status == Status.ok]
        if not ok:
            return None
        return max(ok, key=lambda r: (_speedup(r.attempt), -r.attempt.candidate_index))

    def retiming(self, rnd: int, challenger: Recorded, champion: Recorded) -> tuple[float, float] | None:
        """Both speedups as re-timed after round `rnd`, None when that was not done. A re-run that is
        no longer `ok` (a flaky kernel) counts as infinitely slow."""
        again = {r.attempt.parent_attempt_id: r.attempt for r in self.retimed if r.attempt.round == rnd}
        if challenger.id not in again or champion.id not in again:
            return None
        return _ok_speedup(again[challenger.id]), _ok_speedup(again[champion.id])

    def pending_retime(self, rnd: int) -> tuple[Recorded, Recorded] | None:
        """(the round's fastest, the best before it) when the first reads faster than the second and
        the pair has not been re-timed yet."""
        before = self.best(rnd - 1) if rnd > 0 else None
        challenger = self.round_fastest(rnd)
        if before is None or challenger is None or challenger.attempt.verdict.speedup_vs_eager is None:
            return None
        if _speedup(challenger.attempt) <= _speedup(before.attempt):
            return None
        if self.retiming(rnd, challenger, before) is not None:
            return None
        return challenger, before

    def runner_up(self) -> Recorded | None:
        """The fastest `ok` attempt with other code than the best's: the beam's second parent."""
        best = self.best()
        if best is None:
            return None
        others = [
            r
            for r in self.recorded
            if r.attempt.verdict.status == Status.ok and r.attempt.code.strip() != best.attempt.code.strip()
        ]
        return max(others, key=lambda r: (_speedup(r.attempt), -r.attempt.round), default=None)

    def failure_to_repair(self, rnd: int) -> Recorded | None:
        """Once a correct kernel exists: the most promising failure of the last round when that round
        brought no new best (a wrong or non-compiling idea may still be the faster one)."""
        last = self.last_round(rnd)
        best = self.best()
        if not last or best is None or best.attempt.round == last[0].attempt.round:
            return None
        failed = [r for r in last if r.attempt.verdict.status in _REPAIRABLE and not is_malformed(r.attempt)]
        return pick_repair_base(failed)

    def stalled_rounds(self, noise_margin: float = 0.0) -> int:
        """Rounds since the best last improved by more than `noise_margin` (a fraction: 0.03 = 3%),
        counted only once a correct kernel exists."""
        rounds = sorted({r.attempt.round for r in self.recorded})
        stalled, reference = 0, None
        for rnd in rounds:
            now = self.best(rnd)
            if now is None:
                continue
            if reference is None or _speedup(now.attempt) > _speedup(reference.attempt) * (1 + noise_margin):
                stalled, reference = 0, now
            else:
                stalled += 1
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


def _ok_speedup(attempt: Attempt) -> float:
    return _speedup(attempt) if attempt.verdict.status == Status.ok else float("-inf")
