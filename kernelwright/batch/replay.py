"""Resume without losing or duplicating anything: replay what a killed run already stored.

The agent loop resumes a run by itself (agents/loop_state.py rebuilds its state from the stored
attempts and fills only the missing slots). What it cannot know is which LLM calls were already
answered and paid for when the process died, e.g. Coder replies whose candidates were still being
evaluated. Two wrappers close that gap:

- `ReplayChat`: a Coder/Judge call whose messages equal a stored call of that run returns the
  stored response (no new LLM call, no new dollars, no new llm_calls row), so the resumed loop
  sees the replies the killed one saw;
- `ReplayStore`: writing an attempt equal to a stored one (same task, round, index, code) returns
  the stored id instead of inserting a duplicate: a guarantee, whatever the loop does.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kernelwright.contracts import Attempt, LLMCall, Metric
from kernelwright.interfaces import ChatClient, ChatReply, Store


@dataclass
class StoredReply:
    """A ChatReply served from the store: it costs nothing this time."""

    text: str
    tokens_in: int = 0
    tokens_out: int = 0
    cost_usd: float = 0.0


def _messages_of(call: LLMCall) -> Any:
    try:
        return json.loads(call.prompt)
    except (TypeError, ValueError):
        return call.prompt


class SpendMeter:
    """Dollars and calls across all clients of a batch (read by the progress display)."""

    def __init__(self) -> None:
        self.cost_usd = 0.0
        self.calls = 0
        self.replayed = 0


class ReplayChat:
    """Wraps one role's ChatClient: serves stored replies first, limits concurrency, meters dollars."""

    def __init__(
        self,
        inner: ChatClient,
        prior: Sequence[LLMCall],
        *,
        limit: asyncio.Semaphore | None = None,
        meter: SpendMeter | None = None,
    ):
        self.inner = inner
        self._prior = [c for c in prior if c.response is not None and c.error is None]
        self._limit = limit
        self.meter = meter or SpendMeter()

    def _take_stored(self, messages: list[dict[str, str]]) -> StoredReply | None:
        for i, call in enumerate(self._prior):
            if _messages_of(call) == messages:
                del self._prior[i]
                return StoredReply(call.response or "", call.tokens_in, call.tokens_out, 0.0)
        return None

    async def complete(self, messages: list[dict[str, str]]) -> ChatReply:
        stored = self._take_stored(messages)
        if stored is not None:
            self.meter.replayed += 1
            return stored
        if self._limit is None:
            reply = await self.inner.complete(messages)
        else:
            async with self._limit:
                reply = await self.inner.complete(messages)
        self.meter.calls += 1
        self.meter.cost_usd += reply.cost_usd
        return reply

    def __getattr__(self, name: str) -> Any:
        # model names, close() and the like belong to the wrapped client
        return getattr(self.inner, name)


def _attempt_key(a: Attempt) -> tuple[str, int, int, str]:
    return (a.task_key, a.round, a.candidate_index, a.code)


class ReplayStore:
    """The store as the agent loop sees it during a resumed task: repeated writes become no-ops."""

    def __init__(self, inner: Store, prior: Sequence[Attempt], prior_ids: Sequence[int]):
        self.inner = inner
        self._lock = threading.Lock()
        self._known: dict[tuple[str, int, int, str], int] = {
            _attempt_key(a): i for a, i in zip(prior, prior_ids, strict=True)
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

    def add_metrics(self, attempt_id: int, metrics: Sequence[Metric]) -> None:
        if attempt_id in self._replayed_ids:
            return
        self.inner.add_metrics(attempt_id, metrics)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
