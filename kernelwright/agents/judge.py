"""The Judge: diagnoses a failing candidate (correction) or plans the next optimization. A reply
that is not the asked-for JSON gets one retry with a format reminder; if that fails too, the raw
text is passed on as the advice (marked as such), because a verbose Judge is still worth reading
and a Judge failure must not cost the Coder its round."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from kernelwright.agents.parsing import MalformedReply, extract_json
from kernelwright.agents.prompting import render
from kernelwright.interfaces import ChatClient

MAX_RAW_ADVICE_CHARS = 4000
_Reply = TypeVar("_Reply", bound=BaseModel)
_T = TypeVar("_T")


class Diagnosis(BaseModel):
    """Judge correction mode."""

    critical_issue: str
    why_it_matters: str = ""
    minimal_fix_hint: str = ""


class Evidence(BaseModel):
    metric: str
    value: Any = None
    reading: str = ""


class Plan(BaseModel):
    """Judge optimization mode: one idea."""

    bottleneck: str
    # Models often cite evidence as plain sentences; that is still evidence worth passing on.
    evidence: list[Evidence | str] = Field(default_factory=list)
    method: str = ""
    plan: str
    parent: str = Field("best", description="'best' or 'runner_up': the kernel the plan starts from.")


class Plans(BaseModel):
    """Judge optimization mode: up to K ideas, most promising first (one per candidate slot)."""

    plans: list[Plan] = Field(min_length=1)


@dataclass
class Advice:
    """One plan for the Coder: its text, the idea in a few words (kept in the history) and whether it
    starts from the runner-up kernel instead of the best."""

    text: str
    idea: str = ""
    from_runner_up: bool = False


def diagnosis_text(d: Diagnosis) -> str:
    return (
        f"Critical issue: {d.critical_issue}\nWhy it matters: {d.why_it_matters}\n"
        f"Minimal fix: {d.minimal_fix_hint}"
    )


def plan_text(p: Plan) -> str:
    lines = [f"Bottleneck: {p.bottleneck}"]
    lines += [
        f"- {e}" if isinstance(e, str) else f"- {e.metric} = {e.value}: {e.reading}" for e in p.evidence
    ]
    lines += [f"Method: {p.method}", f"Plan: {p.plan}"]
    return "\n".join(lines)


class Judge:
    def __init__(self, client: ChatClient):
        self.client = client

    async def correction(self, **fields: object) -> Advice:
        """The diagnosis for the Coder's repair prompt; its idea is the critical issue."""
        found = await self._advise("judge_correction", Diagnosis, _diagnosis_advice, fields)
        return Advice(found) if isinstance(found, str) else found

    async def optimization(self, **fields: object) -> list[Advice]:
        """Up to K plans for the Coder's optimize prompts, ranked (a single plan object is accepted)."""
        plans = await self._advise("judge_optimization", Plans, _ranked_plans, fields)
        if isinstance(plans, str):  # the raw reply: one plan, whatever it says
            return [Advice(plans)]
        return plans

    async def _advise(
        self, prompt: str, model: type[_Reply], as_text: Callable[[_Reply], _T], fields: dict[str, object]
    ) -> _T | str:
        messages = [
            {"role": "system", "content": render("judge_system")},
            {"role": "user", "content": render(prompt, **fields)},
        ]
        text = ""
        for attempt in range(2):
            text = (await self.client.complete(messages)).text
            try:
                found = extract_json(text)
                if model is Plans and isinstance(found, dict) and "plans" not in found:
                    found = {"plans": [found]}  # one plan, as the single-plan prompt asked
                return as_text(model.model_validate(found))
            except (MalformedReply, ValidationError) as err:
                reason = str(err) if isinstance(err, MalformedReply) else _first_error(err)
                if attempt == 0:
                    messages += [
                        {"role": "assistant", "content": text},
                        {"role": "user", "content": render("reminder_json", reason=reason)},
                    ]
        return (
            "(The reviewer's reply was not in the requested format; verbatim:)\n"
            + text[:MAX_RAW_ADVICE_CHARS]
        )


def _diagnosis_advice(d: Diagnosis) -> Advice:
    return Advice(diagnosis_text(d), idea=d.critical_issue[:100])


def _ranked_plans(plans: Plans) -> list[Advice]:
    return [
        Advice(plan_text(p), idea=(p.method or p.bottleneck)[:120], from_runner_up=p.parent == "runner_up")
        for p in plans.plans
    ]


def _first_error(err: ValidationError) -> str:
    e = err.errors()[0]
    where = ".".join(str(p) for p in e["loc"]) or "the object"
    return f"The reply's JSON is not as asked: {where}: {e['msg']}."
