"""Deciding one round: its mode, the Judge's advice, and the Coder prompt of each candidate slot.

seed     no usable attempt yet: the Coder writes from the reference.
repair   no correct kernel yet: the Judge diagnoses the most promising failure of the last round.
optimize a correct kernel exists: the Judge reads the best one's profile, the latest candidate and
         what was tried, and returns up to K ranked plans; slot k follows plan k, from the best
         kernel or (a beam of two) the runner-up. When the last round brought no new best and one of
         its candidates failed, the last slot repairs that failure instead (with its log).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal, TypeVar

from kernelwright.agents.client import LLMError
from kernelwright.agents.feedback import attempt_summary, error_summary, guard_findings
from kernelwright.agents.judge import Advice, Judge
from kernelwright.agents.loop_state import LoopState, Recorded, pick_current, pick_repair_base
from kernelwright.agents.prompt_budget import fitting_history, prompt_tokens
from kernelwright.agents.prompting import render
from kernelwright.contracts import Task

Mode = Literal["seed", "repair", "optimize"]
_T = TypeVar("_T")


@dataclass(frozen=True)
class PromptContext:
    """What every Coder prompt of a run says besides the attempt at hand (built once per run)."""

    gpu_facts: str
    rules: str
    candidate_format: str
    tuning: str = ""
    examples: str = ""
    policy: str = ""
    """What forward may use on this task's level and target (rules.torch_policy), also told to the
    Judge, so that no plan asks for what the sandbox refuses."""


@dataclass
class SlotPlan:
    """One candidate slot: its prompt, the attempt it starts from, and what it tries (stored with
    the attempt, so later prompts and a resumed run remember it)."""

    mode: Mode
    prompt: str
    parent_id: int | None
    idea: str = ""
    advice: str = ""


@dataclass
class RoundPlan:
    mode: Mode
    slots: list[SlotPlan]

    def slot(self, k: int) -> SlotPlan:
        return self.slots[k % len(self.slots)]


async def plan_round(
    rnd: int,
    task: Task,
    state: LoopState,
    judge: Judge,
    context: PromptContext,
    budget: int | None = None,
) -> RoundPlan:
    """`budget`: the estimated tokens each role's prompt may reach (the history is trimmed to fit)."""
    best = state.best()
    if best is not None:
        return await _optimize(rnd, task, state, best, judge, context, budget)
    base = pick_repair_base(state.last_round(rnd))
    if base is None:
        prompt = render(
            "coder_seed",
            task_key=task.key,
            task_source=task.source.strip(),
            gpu_facts=context.gpu_facts,
            rules=context.rules,
            candidate_format=context.candidate_format,
            tuning=_section(context.tuning),
            examples=_section(context.examples),
        )
        return RoundPlan("seed", [SlotPlan("seed", prompt, None, idea="first version")])
    return RoundPlan("repair", [await _repair(task, state, base, judge, context, budget)])


async def _repair(
    task: Task, state: LoopState, base: Recorded, judge: Judge, context: PromptContext, budget: int | None
) -> SlotPlan:
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
    advice = await _ask(
        judge.correction(**common, history=past), lambda err: Advice(f"(No review this round: {err})")
    )
    prompt = render(
        "coder_repair", **common, gpu_facts=context.gpu_facts, rules=context.rules, diagnosis=advice.text
    )
    idea = f"fix: {advice.idea}" if advice.idea else f"fix the {a.verdict.status.value} of round {a.round}"
    return SlotPlan("repair", prompt, base.id, idea=idea[:120], advice=advice.text)


async def _optimize(
    rnd: int,
    task: Task,
    state: LoopState,
    best: Recorded,
    judge: Judge,
    context: PromptContext,
    budget: int | None,
) -> RoundPlan:
    failure = state.failure_to_repair(rnd)
    # One slot repairs the failure; with K = 1 the whole round does (the next one optimizes again).
    wanted = state.candidates - (1 if failure is not None else 0)
    repair = _repair(task, state, failure, judge, context, budget) if failure is not None else None
    if wanted == 0 and repair is not None:
        return RoundPlan("repair", [await repair])
    runner_up = state.runner_up() if wanted >= 2 else None
    current = pick_current(state.last_round(rnd)) or best
    profile = best.attempt.profile
    digest = profile.digest if profile is not None and profile.digest else "No profile is available."
    judge_fields: dict[str, object] = {
        "task_key": task.key,
        "task_source": task.source.strip(),
        "gpu_facts": context.gpu_facts,
        "policy": f"\nWhat forward may use (the sandbox enforces it): {context.policy}\n"
        if context.policy
        else "",
        "best_summary": attempt_summary(best.attempt),
        "best_code": best.attempt.code.strip(),
        "runner_up": _runner_up_block(runner_up),
        "current_summary": attempt_summary(current.attempt),
        # The Judge reads the best kernel once: when the latest candidate is the best, it is named.
        "current_code": "The latest candidate is the best kernel above."
        if current.id == best.id
        else f"```python\n{current.attempt.code.strip()}\n```",
        "digest": digest,
        "plans_wanted": "one plan"
        if wanted == 1
        else f"up to {wanted} plans, ranked, most promising first, each a different idea",
    }
    # The Judge's prompt is the larger (it adds the latest code and the digest); its history fits
    # the Coder's prompt too.
    past = fitting_history(
        state.attempts,
        budget,
        lambda h: prompt_tokens("judge_system", "judge_optimization", **judge_fields, history=h),
    )
    planned = _ask(
        judge.optimization(**judge_fields, history=past),
        lambda err: [Advice(f"(No review this round: {err}) Make the kernel faster.")],
    )
    if repair is not None:
        plans, repair_slot = await asyncio.gather(planned, repair)
    else:
        plans, repair_slot = await planned, None
    slots = []
    for k in range(wanted):
        advice = plans[k % len(plans)]
        parent = runner_up if advice.from_runner_up and runner_up is not None else best
        prompt = render(
            "coder_optimize",
            task_key=task.key,
            task_source=task.source.strip(),
            gpu_facts=context.gpu_facts,
            rules=context.rules,
            parent_label="the runner-up kernel" if parent is not best else "the best kernel",
            parent_summary=attempt_summary(parent.attempt),
            parent_code=parent.attempt.code.strip(),
            history=past,
            plan=advice.text,
            tuning=_section(context.tuning),
            examples=_section(context.examples),
        )
        slots.append(SlotPlan("optimize", prompt, parent.id, idea=advice.idea[:120], advice=advice.text))
    if repair_slot is not None:
        slots.append(repair_slot)
    return RoundPlan("optimize", slots)


def _runner_up_block(runner_up: Recorded | None) -> str:
    if runner_up is None:
        return ""
    return (
        f"\n## Runner-up kernel ({attempt_summary(runner_up.attempt)})\n\n"
        f"```python\n{runner_up.attempt.code.strip()}\n```\n"
    )


def _section(text: str) -> str:
    return f"\n{text.strip()}\n" if text.strip() else ""


async def _ask(call: Awaitable[_T], instead: Callable[[LLMError], _T]) -> _T:
    """The Judge's advice; a transient endpoint failure costs the round its review, not the round."""
    try:
        return await call
    except LLMError as err:
        if not err.transient:
            raise
        return instead(err)
