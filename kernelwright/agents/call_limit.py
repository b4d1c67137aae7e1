"""How many LLM calls are in flight at once, per endpoint, and how many wait for a turn: a server
that serves one request at a time (llama.cpp's default) would otherwise hold the rest in its own
queue, where they time out unseen. The progress views show the counts."""

from __future__ import annotations

import asyncio
from typing import Literal


class CallLimit(asyncio.Semaphore):
    """A semaphore that counts the calls holding it and the calls waiting for it."""

    def __init__(self, limit: int):
        super().__init__(limit)
        self.limit = limit
        self.in_flight = 0
        self.waiting = 0

    async def acquire(self) -> Literal[True]:
        self.waiting += 1
        try:
            await super().acquire()
        finally:
            self.waiting -= 1
        self.in_flight += 1
        return True

    def release(self) -> None:
        self.in_flight -= 1
        super().release()


class EndpointLimits:
    """One CallLimit per base URL, each allowing `limit` calls at once: the Coder and the Judge on
    the same server share its limit; on two servers each has its own."""

    def __init__(self, limit: int):
        self.limit = limit
        self.by_url: dict[str, CallLimit] = {}

    def for_url(self, base_url: str | None) -> CallLimit:
        key = (base_url or "").rstrip("/")
        if key not in self.by_url:
            self.by_url[key] = CallLimit(self.limit)
        return self.by_url[key]

    def queue_line(self) -> str | None:
        """'LLM calls: 1 in flight, 3 queued (limit 1 per endpoint, --llm-concurrency)' while any
        call waits for its turn; None otherwise."""
        waiting = sum(c.waiting for c in self.by_url.values())
        if not waiting:
            return None
        in_flight = sum(c.in_flight for c in self.by_url.values())
        return (
            f"LLM calls: {in_flight} in flight, {waiting} queued "
            f"(limit {self.limit} per endpoint, --llm-concurrency)"
        )
