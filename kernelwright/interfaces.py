"""The few seams between stages, once. Concrete classes are typed against these Protocols, and the
agent loop and batch receive them as arguments, so tests can hand in recorded Verdicts/Profiles."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from kernelwright.contracts import (
    Attempt,
    Baseline,
    BestEntry,
    Candidate,
    ChatReply,
    LLMCall,
    Metric,
    Profile,
    RunInfo,
    StoredAttempt,
    Task,
    TimingStats,
    Verdict,
)


class Evaluator(Protocol):
    """The sandbox seen from outside: compile, guard, verify and time one candidate."""

    def __call__(self, task: Task, candidate: Candidate) -> Verdict: ...


class ProfilerFn(Protocol):
    """The profiler seen from outside: metrics and a Judge-ready digest for a judged candidate."""

    def __call__(self, task: Task, candidate: Candidate, verdict: Verdict) -> Profile: ...


class ChatClient(Protocol):
    """An LLM endpoint for one role (agents/call_log.py's LoggedClient writes each call to the store)."""

    async def complete(self, messages: list[dict[str, str]]) -> ChatReply: ...


class RunLog(Protocol):
    """The store as the agent loop uses it: a run's attempts as they finish, and what it has spent."""

    def attempts_for_task(self, task_key: str, gpu_name: str | None = None) -> list[StoredAttempt]: ...

    def spent(self, run_id: int) -> tuple[float, int]: ...

    def add_attempt(self, attempt: Attempt) -> int: ...

    def add_metrics(self, attempt_id: int, metrics: Sequence[Metric]) -> None: ...


class BaselineCache(Protocol):
    """What the sandbox keeps between evaluations: reference timings per (task, GPU, torch version)."""

    def add_task(self, task: Task) -> int: ...

    def get_baseline(self, task_key: str, gpu_name: str, torch_version: str) -> Baseline | None: ...

    def put_baseline(
        self,
        task_key: str,
        gpu_name: str,
        torch_version: str,
        *,
        eager: TimingStats | None,
        compiled: TimingStats | None,
    ) -> None: ...


class StoreWriter(BaselineCache, Protocol):
    """The store's writes. Each write is its own transaction."""

    def create_run(
        self, config: dict[str, Any], *, coder_model: str, judge_model: str, gpu_name: str
    ) -> int: ...

    def finish_run(self, run_id: int, status: str) -> None: ...

    def add_attempt(self, attempt: Attempt) -> int: ...

    def add_llm_call(self, call: LLMCall) -> int: ...

    def add_metrics(self, attempt_id: int, metrics: Sequence[Metric]) -> None: ...


class StoreReader(Protocol):
    """The store's reads: resume, `show`, batch bookkeeping, export and reeval."""

    def attempts(self, run_id: int, task_key: str | None = None) -> list[Attempt]: ...

    def attempts_for_task(self, task_key: str, gpu_name: str | None = None) -> list[StoredAttempt]: ...

    def attempt(self, attempt_id: int) -> StoredAttempt | None: ...

    def best(self, task_key: str, gpu_name: str) -> Attempt | None: ...

    def best_all(self, gpu_name: str | None = None) -> list[BestEntry]: ...

    def run(self, run_id: int) -> RunInfo | None: ...

    def runs(self) -> list[RunInfo]: ...

    def spent(self, run_id: int) -> tuple[float, int]: ...

    def llm_calls(self, run_id: int) -> list[LLMCall]: ...

    def task(self, task_key: str) -> Task | None: ...

    def best_of_class(
        self,
        op_class: str,
        *,
        gpu_name: str | None = None,
        exclude_task: str | None = None,
        limit: int = 2,
        min_speedup: float = 1.0,
    ) -> list[StoredAttempt]: ...


class Store(StoreReader, StoreWriter, Protocol):
    """Where runs, tasks, attempts, LLM calls, metrics and baselines live (store.SqlStore). The
    narrower views above (RunLog, BaselineCache) are what the loop and the sandbox need of it."""
