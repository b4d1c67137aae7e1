"""Resume without losing or duplicating anything: replay what a killed run already stored.

The agent loop resumes a run by itself (agents/loop_state.py rebuilds its state from the stored
attempts), but a round that was cut short is re-planned from a state that already holds some of
that round's attempts, so its prompts, and from there its candidates, differ from a clean run's.
The batch therefore shows the loop every round but the last one stored, and replays the last:

- `ReplayStore.attempts_for_task` hides the last stored round from the loop's state;
- `ReplayChat`: a Coder/Judge call whose messages equal a stored call of that run returns the
  stored response (no new LLM call, no new dollars, no new llm_calls row);
- `ReplayEvaluator` / `ReplayProfiler`: a hidden attempt's code gets its stored Verdict and
  Profile back (no GPU time spent twice);
- `ReplayStore.add_attempt`: writing an attempt equal to a hidden one (same task, round, index,
  code) returns the stored id instead of inserting a duplicate.

So the loop walks the clean run's path through the cut round and goes on from there.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from typing import Any

from kernelwright.agents.loop_state import RETIMED_MODE
from kernelwright.contracts import (
    Attempt,
    Candidate,
    ChatReply,
    LLMCall,
    Metric,
    Profile,
    StoredAttempt,
    Task,
    Verdict,
)
from kernelwright.interfaces import ChatClient, Evaluator, ProfilerFn, RunLog


def _messages_of(call: LLMCall) -> Any:
    try:
        return json.loads(call.prompt)
    except (TypeError, ValueError):
        return call.prompt


def _lines(messages: Any) -> list[tuple[str, list[str]]] | None:
    if not isinstance(messages, list):
        return None
    try:
        return [(m["role"], sorted(str(m["content"]).splitlines())) for m in messages]
    except (KeyError, TypeError):
        return None


class SpendMeter:
    """Dollars and calls across all clients of a batch (read by the progress display)."""

    def __init__(self) -> None:
        self.cost_usd = 0.0
        self.calls = 0
        self.replayed = 0


class ReplayChat:
    """Wraps one role's ChatClient: serves stored replies first, meters dollars."""

    def __init__(self, inner: ChatClient, prior: Sequence[LLMCall], *, meter: SpendMeter | None = None):
        self.inner = inner
        self._prior = [c for c in prior if c.response is not None and c.error is None]
        self.meter = meter or SpendMeter()

    def _take_stored(self, messages: list[dict[str, str]]) -> ChatReply | None:
        # Exact match first. Then the same lines in another order: the loop lists a round's
        # attempts in the order their evaluations finished, which a resumed round cannot repeat.
        wanted = _lines(messages)
        for same in (
            lambda stored: stored == messages,
            lambda stored: wanted is not None and _lines(stored) == wanted,
        ):
            for i, call in enumerate(self._prior):
                if same(_messages_of(call)):
                    del self._prior[i]
                    # zero spend: the run's stored totals already count this call once
                    return ChatReply(text=call.response or "")
        return None

    async def complete(self, messages: list[dict[str, str]]) -> ChatReply:
        stored = self._take_stored(messages)
        if stored is not None:
            self.meter.replayed += 1
            return stored
        reply = await self.inner.complete(messages)
        self.meter.calls += 1
        self.meter.cost_usd += reply.cost_usd
        return reply


class ReplayEvaluator:
    """Returns the stored Verdict for code of a hidden (replayed) attempt; otherwise evaluates."""

    def __init__(self, inner: Evaluator, hidden: Sequence[Attempt]):
        self.inner = inner
        self._lock = threading.Lock()
        self._verdicts: dict[str, list[Verdict]] = {}
        self._profiles: dict[str, list[Profile]] = {}
        # Slots in order, then the round's re-timings (the loop judges them after its slots).
        for a in sorted(hidden, key=lambda a: (a.mode == RETIMED_MODE, abs(a.candidate_index))):
            self._verdicts.setdefault(a.code, []).append(a.verdict)
            if a.profile is not None:
                self._profiles.setdefault(a.code, []).append(a.profile)
        self.replayed = 0

    def __call__(self, task: Task, candidate: Candidate) -> Verdict:
        with self._lock:
            stored = self._verdicts.get(candidate.source)
            if stored:
                self.replayed += 1
                return stored.pop(0)
        return self.inner(task, candidate)

    def stored_profile(self, code: str) -> Profile | None:
        with self._lock:
            stored = self._profiles.get(code)
            return stored.pop(0) if stored else None


class ReplayProfiler:
    """Serves a hidden attempt's stored Profile; profiles new code with the real profiler."""

    def __init__(self, inner: ProfilerFn, evaluator: ReplayEvaluator):
        self.inner = inner
        self.evaluator = evaluator

    def __call__(self, task: Task, candidate: Candidate, verdict: Verdict) -> Profile:
        stored = self.evaluator.stored_profile(candidate.source)
        return stored if stored is not None else self.inner(task, candidate, verdict)


def split_last_round(attempts: Sequence[Attempt], ids: Sequence[int]) -> tuple[list[int], list[int]]:
    """Indices of (visible, hidden) attempts: hidden are those of the last stored round."""
    if not attempts:
        return [], []
    last = max(a.round for a in attempts)
    visible = [i for i, a in enumerate(attempts) if a.round < last]
    hidden = [i for i, a in enumerate(attempts) if a.round == last]
    return visible, hidden


def _attempt_key(a: Attempt) -> tuple[str, int, int, str]:
    return (a.task_key, a.round, a.candidate_index, a.code)


class ReplayStore:
    """The store as the agent loop sees it (interfaces.RunLog) during a resumed task: repeated writes
    become no-ops."""

    def __init__(self, inner: RunLog, prior: Sequence[Attempt], prior_ids: Sequence[int]):
        self.inner = inner
        self._lock = threading.Lock()
        _, hidden = split_last_round(prior, prior_ids)
        self._hidden_ids = {prior_ids[i] for i in hidden}
        self.hidden = [prior[i] for i in hidden]
        self._known: dict[tuple[str, int, int, str], int] = {
            _attempt_key(prior[i]): prior_ids[i] for i in hidden
        }
        self._replayed_ids: set[int] = set()
        self.written = 0

    def add_attempt(self, attempt: Attempt) -> int:
        with self._lock:
            known = self._known.pop(_attempt_key(attempt), None)
            if known is not None:
                self._replayed_ids.add(known)
                return known
        self.written += 1
        return self.inner.add_attempt(attempt)

    def attempts_for_task(self, task_key: str, gpu_name: str | None = None) -> list[StoredAttempt]:
        """What the loop rebuilds its state from (with store ids, so parents link as in a clean
        run), less the last stored round of this run, which is replayed."""
        rows = self.inner.attempts_for_task(task_key, gpu_name)
        return [s for s in rows if s.id not in self._hidden_ids]

    def add_metrics(self, attempt_id: int, metrics: Sequence[Metric]) -> None:
        if attempt_id in self._replayed_ids:
            return
        self.inner.add_metrics(attempt_id, metrics)

    def spent(self, run_id: int) -> tuple[float, int]:
        return self.inner.spent(run_id)
