"""Limits on a run (dollars, tokens, wall time), checked before every LLM call, and the small
exception types that steer the loop: each carries the run status it ends with and one sentence."""

from __future__ import annotations

import time

from kernelwright.agents.token_estimate import estimate_messages
from kernelwright.contracts import ChatReply
from kernelwright.interfaces import ChatClient


class StopRun(Exception):
    """Ends the loop cleanly; `status` goes to the run row, `str()` to the user."""

    status = "done"

    def __init__(self, message: str, status: str | None = None):
        super().__init__(message)
        if status is not None:
            self.status = status


class BudgetExceeded(StopRun):
    status = "budget"


class Budget:
    """Spend so far (including what a resumed run spent before) against the configured limits."""

    def __init__(
        self,
        *,
        max_usd: float | None = None,
        max_tokens: int | None = None,
        max_minutes: float | None = None,
        spent_usd: float = 0.0,
        spent_tokens: int = 0,
        output_cap: int | None = None,
    ):
        self.output_cap = output_cap
        self.max_usd = max_usd
        self.max_tokens = max_tokens
        self.max_minutes = max_minutes
        self.spent_usd = spent_usd
        self.spent_tokens = spent_tokens
        self.started = time.monotonic()

    @property
    def elapsed_minutes(self) -> float:
        return (time.monotonic() - self.started) / 60

    def check(self, messages: list[dict[str, str]] | None = None) -> None:
        """Raises BudgetExceeded when a limit is reached, or when the next call (`messages`), at its
        worst (its estimated prompt plus the whole output cap), would cross the token budget."""
        if self.max_tokens is not None and messages is not None:
            worst = estimate_messages(messages) + (self.output_cap or 0)
            if self.spent_tokens + worst > self.max_tokens:
                raise BudgetExceeded(
                    f"Stopped at the token budget: {self.spent_tokens} used of {self.max_tokens}, and the "
                    f"next call could take {worst} more (its prompt and output cap)."
                )
        if self.max_usd is not None and self.spent_usd >= self.max_usd:
            raise BudgetExceeded(
                f"Stopped at the dollar budget: ${self.spent_usd:.4f} spent of ${self.max_usd:g}."
            )
        if self.max_tokens is not None and self.spent_tokens >= self.max_tokens:
            raise BudgetExceeded(
                f"Stopped at the token budget: {self.spent_tokens} used of {self.max_tokens}."
            )
        if self.max_minutes is not None and self.elapsed_minutes >= self.max_minutes:
            raise BudgetExceeded(f"Stopped at the time budget of {self.max_minutes:g} minutes.")

    def charge(self, reply: ChatReply) -> None:
        self.spent_usd += reply.cost_usd
        self.spent_tokens += reply.tokens_in + reply.tokens_out


class MeteredClient:
    """A ChatClient that checks the budget before each call and charges it after."""

    def __init__(self, inner: ChatClient, budget: Budget):
        self.inner = inner
        self.budget = budget

    async def complete(self, messages: list[dict[str, str]]) -> ChatReply:
        self.budget.check(messages)
        reply = await self.inner.complete(messages)
        self.budget.charge(reply)
        return reply
