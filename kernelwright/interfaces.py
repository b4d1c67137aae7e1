"""The few seams between stages, once. Concrete classes are typed against these Protocols, and the
agent loop and batch receive them as arguments, so tests can hand in recorded Verdicts/Profiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from kernelwright.contracts import (
    Attempt,
    Candidate,
    LLMCall,
    Metric,
    Profile,
    Task,
    Verdict,
)


class Evaluator(Protocol):
    """The sandbox seen from outside: compile, guard, verify and time one candidate."""

    def __call__(self, task: Task, candidate: Candidate) -> Verdict: ...


class ProfilerFn(Protocol):
    """The profiler seen from outside: metrics and a Judge-ready digest for a judged candidate."""

    def __call__(self, task: Task, candidate: Candidate, verdict: Verdict) -> Profile: ...


class ChatReply(Protocol):
    text: str
    tokens_in: int
    tokens_out: int
    cost_usd: float


class ChatClient(Protocol):
    """An LLM endpoint for one role; every call is logged to the store by the implementation."""

    async def complete(self, messages: list[dict[str, str]]) -> ChatReply: ...


class Store(Protocol):
    """Where runs, attempts, LLM calls and metrics live. Each write is its own transaction."""

    def create_run(
        self, config: dict[str, Any], *, coder_model: str, judge_model: str, gpu_name: str
    ) -> int: ...

    def finish_run(self, run_id: int, status: str) -> None: ...

    def add_task(self, task: Task) -> int: ...

    def add_attempt(self, attempt: Attempt) -> int: ...

    def add_llm_call(self, call: LLMCall) -> int: ...

    def add_metrics(self, attempt_id: int, metrics: Sequence[Metric]) -> None: ...

    def attempts(self, run_id: int, task_key: str | None = None) -> list[Attempt]: ...

    def best(self, task_key: str, gpu_name: str) -> Attempt | None: ...
