"""Keeping a prompt within a size budget (a small local model's context is often 2k-4k tokens, and a
repair prompt reaches ~2.7k): the attempt history is what goes first, most recent lines kept, since
the reference, the code and the error are what the prompt is for."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kernelwright.agents.feedback import MAX_HISTORY_LINES, history
from kernelwright.agents.prompting import render
from kernelwright.agents.token_estimate import estimate_tokens
from kernelwright.contracts import Attempt

# History lengths tried in turn until the prompt fits; 0 keeps only the count of attempts.
_HISTORY_STEPS = (MAX_HISTORY_LINES, 16, 8, 4, 2, 1, 0)


def prompt_tokens(system: str, template: str, **fields: object) -> int:
    """Estimated tokens of the system prompt `system` plus the user prompt `template`."""
    return estimate_tokens(render(system)) + estimate_tokens(render(template, **fields))


def fitting_history(attempts: Sequence[Attempt], budget: int | None, size_with: Callable[[str], int]) -> str:
    """The longest history (of _HISTORY_STEPS) whose prompt, `size_with(history_text)` tokens, fits
    `budget`; the shortest one when none does (the endpoint's own context error then says so)."""
    text = history(attempts)
    if budget is None:
        return text
    for lines in _HISTORY_STEPS:
        text = history(attempts, max_lines=lines)
        if size_with(text) <= budget:
            return text
    return text
