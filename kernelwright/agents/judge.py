"""The Judge: diagnoses a failing candidate (correction) or plans the next optimization. A reply
that is not the asked-for JSON gets one retry with a format reminder; if that fails too, the raw
text is passed on as the advice (marked as such), because a verbose Judge is still worth reading
and a Judge failure must not cost the Coder its round."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from kernelwright.agents.parsing import MalformedReply, extract_json
from kernelwright.agents.prompting import render
from kernelwright.interfaces import ChatClient

MAX_RAW_ADVICE_CHARS = 4000
_Advice = TypeVar("_Advice", bound=BaseModel)


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
    """Judge optimization mode."""

    bottleneck: str
    # Models often cite evidence as plain sentences; that is still evidence worth passing on.
    evidence: list[Evidence | str] = Field(default_factory=list)
    method: str = ""
    plan: str


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

    async def correction(self, **fields: object) -> str:
        """Advice text for the Coder's repair prompt."""
        return await self._advise("judge_correction", Diagnosis, diagnosis_text, fields)

    async def optimization(self, **fields: object) -> str:
        """Plan text for the Coder's optimize prompt."""
        return await self._advise("judge_optimization", Plan, plan_text, fields)

    async def _advise(
        self, prompt: str, model: type[_Advice], as_text: Callable[[_Advice], str], fields: dict[str, object]
    ) -> str:
        messages = [
            {"role": "system", "content": render("judge_system")},
            {"role": "user", "content": render(prompt, **fields)},
        ]
        text = ""
        for attempt in range(2):
            text = (await self.client.complete(messages)).text
            try:
                return as_text(model.model_validate(extract_json(text)))
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


def _first_error(err: ValidationError) -> str:
    e = err.errors()[0]
    where = ".".join(str(p) for p in e["loc"]) or "the object"
    return f"The reply's JSON is not as asked: {where}: {e['msg']}."
