"""Deciding one round: its mode, the Judge's advice, and the Coder prompt every candidate shares.

seed     no usable attempt yet: the Coder writes from the reference.
repair   no correct kernel yet: the Judge diagnoses the most promising failure of the last round.
optimize a correct kernel exists: the Judge reads the best one's profile, the latest candidate and
         the speedup history; the Coder always starts from the best (a slower kernel is rolled back).
"""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Literal

from kernelwright.agents.client import LLMError
from kernelwright.agents.feedback import attempt_summary, error_summary, guard_findings
from kernelwright.agents.judge import Judge
from kernelwright.agents.loop_state import LoopState, Recorded, pick_current, pick_repair_base
from kernelwright.agents.prompt_budget import fitting_history, prompt_tokens
from kernelwright.agents.prompting import render
from kernelwright.contracts import Task

Mode = Literal["seed", "repair", "optimize"]


@dataclass
class RoundPlan:
    mode: Mode
    prompt: str
    parent_id: int | None
    advice: str = ""


async def plan_round(
    rnd: int, task: Task, state: LoopState, judge: Judge, gpu_facts: str, budget: int | None = None
) -> RoundPlan:
    """`budget`: the estimated tokens each role's prompt may reach (the history is trimmed to fit)."""
    best = state.best()
    last = state.last_round(rnd)
    if best is not None:
        return await _optimize(task, state, best, pick_current(last) or best, judge, gpu_facts, budget)
    base = pick_repair_base(last)
    if base is None:
        prompt = render("coder_seed", task_key=task.key, task_source=task.source.strip(), gpu_facts=gpu_facts)
        return RoundPlan("seed", prompt, None)
    return await _repair(task, state, base, judge, gpu_facts, budget)


async def _repair(
    task: Task, state: LoopState, base: Recorded, judge: Judge, gpu_facts: str, budget: int | None
) -> RoundPlan:
    a = base.attempt
    common = {
        "task_key": task.key,
        "task_source": task.source.strip(),
        "code": a.code.strip(),
        "status": a.verdict.status.value,
        "error_summary": error_summary(a.verdict),
        "guard_findings": guard_findings(a.verdict),
    }
    past = fitting_history(
        state.attempts,
        budget,
        lambda h: prompt_tokens("judge_system", "judge_correction", **common, history=h),
    )
    advice = await _ask(judge.correction(**common, history=past))
    prompt = render("coder_repair", **common, gpu_facts=gpu_facts, diagnosis=advice)
    return RoundPlan("repair", prompt, base.id, advice)


async def _optimize(
    task: Task,
    state: LoopState,
    best: Recorded,
    current: Recorded,
    judge: Judge,
    gpu_facts: str,
    budget: int | None,
) -> RoundPlan:
    profile = best.attempt.profile
    digest = profile.digest if profile is not None and profile.digest else "No profile is available."
    common: dict[str, object] = {
        "task_key": task.key,
        "task_source": task.source.strip(),
        "gpu_facts": gpu_facts,
        "best_summary": attempt_summary(best.attempt),
        "best_code": best.attempt.code.strip(),
    }
    judge_fields = {
        **common,
        "current_summary": attempt_summary(current.attempt),
        "current_code": current.attempt.code.strip(),
        "digest": digest,
    }
    # The Judge's prompt is the larger (it adds the latest code and the digest); its history fits
    # the Coder's prompt too.
    common["history"] = fitting_history(
        state.attempts,
        budget,
        lambda h: prompt_tokens("judge_system", "judge_optimization", **judge_fields, history=h),
    )
    advice = await _ask(judge.optimization(**judge_fields, history=common["history"]))
    return RoundPlan("optimize", render("coder_optimize", **common, plan=advice), best.id, advice)


async def _ask(call: Awaitable[str]) -> str:
    """The Judge's advice; a transient endpoint failure costs the round its review, not the round."""
    try:
        return await call
    except LLMError as err:
        if not err.transient:
            raise
        return f"(No review this round: {err})"
