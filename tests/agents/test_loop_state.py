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


def _timed(ident: int, rnd: int, k: int, speedup: float | None, *, status: Status = Status.ok,
           code: str | None = None, mode: str = "optimize", parent: int | None = None) -> Recorded:  # fmt: skip
    verdict = Verdict(status=status, speedup_vs_eager=speedup)
    attempt = Attempt(run_id=1, task_key="level1/x", round=rnd, candidate_index=k, mode=mode,  # type: ignore[arg-type]
                      parent_attempt_id=parent, code=code or f"code {ident}", verdict=verdict)  # fmt: skip
    return Recorded(ident, attempt)


def test_a_faster_reading_replaces_the_best_only_if_the_back_to_back_retiming_agrees() -> None:
    state = LoopState(candidates=1)
    state.add(_timed(1, 0, 0, 1.20))
    state.add(_timed(2, 1, 0, 1.30))  # reads faster once
    assert state.pending_retime(1) == (state.recorded[1], state.recorded[0])
    # judged again back to back: the challenger was lucky
    state.add(_timed(3, 1, -1, 1.18, mode="reeval", parent=2))
    state.add(_timed(4, 1, -2, 1.21, mode="reeval", parent=1))
    assert state.best().id == 1 and state.pending_retime(1) is None
    # a later round's real improvement, confirmed, does replace it
    state.add(_timed(5, 2, 0, 1.60))
    state.add(_timed(6, 2, -1, 1.58, mode="reeval", parent=5))
    state.add(_timed(7, 2, -2, 1.22, mode="reeval", parent=1))
    assert state.best().id == 5
    assert [r.attempt.round for r in state.recorded] == [0, 1, 2]  # re-timings are not slots
    assert state.missing_slots(1) == []


def test_a_challenger_that_fails_its_retiming_never_becomes_best() -> None:
    state = LoopState(candidates=1)
    state.add(_timed(1, 0, 0, 1.0))
    state.add(_timed(2, 1, 0, 3.0))
    state.add(_timed(3, 1, -1, None, status=Status.incorrect, mode="reeval", parent=2))  # flaky
    state.add(_timed(4, 1, -2, 1.0, mode="reeval", parent=1))
    assert state.best().id == 1


def test_patience_counts_improvements_inside_the_noise_margin_as_stalls() -> None:
    state = LoopState(candidates=1)
    for rnd, speed in enumerate([1.00, 1.01, 1.02, 1.025]):
        state.add(_timed(rnd + 1, rnd, 0, speed))
    assert state.stalled_rounds(0.0) == 0  # every round read faster
    assert state.stalled_rounds(0.03) == 3  # none by more than 3% over 1.00
    state.add(_timed(9, 4, 0, 1.10))
    assert state.stalled_rounds(0.03) == 0


def test_runner_up_has_other_code_and_repair_follows_a_round_without_progress() -> None:
    state = LoopState(candidates=2)
    state.add(_timed(1, 0, 0, 1.5, code="A"))
    state.add(_timed(2, 0, 1, 1.5, code="A"))  # the same kernel twice is no beam
    assert state.runner_up() is None
    state.add(_timed(3, 1, 0, 1.2, code="B"))
    state.add(_timed(4, 1, 1, None, status=Status.incorrect, code="C"))
    assert state.runner_up().id == 3
    assert state.failure_to_repair(2).id == 4  # round 1 brought no new best and has a wrong kernel
    state.add(_timed(5, 2, 0, 2.0, code="D"))
    state.add(_timed(6, 2, 1, None, status=Status.compile_error, code="E"))
    assert state.failure_to_repair(3) is None  # round 2 improved: no repair slot
