"""LoopState keeps a round's attempts in slot order, whatever order their evaluations finish in."""

from __future__ import annotations

from kernelwright.agents.loop_state import LoopState, Recorded
from kernelwright.contracts import Attempt, Status, Verdict


def _row(rnd: int, k: int) -> Recorded:
    verdict = Verdict(status=Status.ok)
    return Recorded(
        rnd * 10 + k,
        Attempt(run_id=1, task_key="level1/x", round=rnd, candidate_index=k, code="", verdict=verdict),
    )


def test_attempts_finishing_out_of_order_are_kept_in_slot_order() -> None:
    state = LoopState(candidates=3)
    for rnd, k in [(0, 2), (0, 0), (1, 1), (0, 1), (1, 0), (0, 3)]:
        state.add(_row(rnd, k))
    assert [(a.round, a.candidate_index) for a in state.attempts] == [
        (0, 0),
        (0, 1),
        (0, 2),
        (0, 3),
        (1, 0),
        (1, 1),
    ]


def test_ties_between_equal_attempts_resolve_by_slot_not_by_arrival() -> None:
    first, second = LoopState(candidates=2), LoopState(candidates=2)
    for order, state in (([0, 1], first), ([1, 0], second)):
        for k in order:
            state.add(_row(0, k))
    assert first.best().attempt.candidate_index == second.best().attempt.candidate_index == 0
