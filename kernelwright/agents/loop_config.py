"""The loop's settings, result and progress events (kept apart so loop.py stays the control flow)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, Field

from kernelwright.contracts import Attempt


class LoopConfig(BaseModel):
    """Rounds, candidates, stopping rules and budgets of one task's loop. Where candidates are judged
    (a GPU, or compile-only) is the command's gpu.target.Target, apart from these settings."""

    model_config = {"extra": "forbid"}

    rounds: int = Field(10, ge=1, description="Rounds of Judge + Coder (R).")
    candidates: int = Field(2, ge=1, description="Candidates written in parallel per round (K).")
    patience: int = Field(4, ge=1, description="Stop after this many rounds without a faster kernel (P).")
    sol_target_pct: float = Field(
        90.0, description="Stop once the best kernel reaches this % of speed of light."
    )
    noise_margin_pct: float = Field(
        3.0, ge=0, description="A new best counts as progress for patience only when this % faster."
    )
    max_usd: float | None = Field(None, description="Dollar budget of the run (LLM cost).")
    max_tokens: int | None = Field(None, description="Token budget of the run (in + out).")
    max_minutes: float | None = Field(None, description="Wall-time budget of this invocation, minutes.")
    max_output_tokens: int | None = Field(
        None, description="Output cap of one LLM call: the token budget reserves it before each call."
    )
    prompt_tokens: int | None = Field(
        None, description="Size a prompt of either role may reach (estimated); history is trimmed first."
    )


class LoopResult(BaseModel):
    run_id: int
    task_key: str
    status: str = Field(description="done | solved | stalled | compiled | budget | failed")
    message: str
    best: Attempt | None = None
    best_attempt_id: int | None = None
    attempts: int = 0
    cost_usd: float = 0.0
    tokens: int = 0


@dataclass
class LoopEvent:
    """For live views: kind is 'round', 'candidate', 'attempt', 'retiming' or 'best' (the loop's best
    after a round, re-timings decided)."""

    kind: str
    round: int
    candidate_index: int | None = None
    text: str = ""
    attempt: Attempt | None = None
    spent_usd: float = 0.0


EventHook = Callable[[LoopEvent], None]
