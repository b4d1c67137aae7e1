"""Every LLM call of a run written to the store as it finishes, answered or failed: a ChatClient
wrapper, like MeteredClient, so the HTTP client stays an HTTP client."""

from __future__ import annotations

import json

from kernelwright.agents.client import LLMError
from kernelwright.agents.config import Role
from kernelwright.contracts import ChatReply, LLMCall
from kernelwright.interfaces import ChatClient, StoreWriter


class LoggedClient:
    """A ChatClient that stores one LLMCall per `complete()` under `run_id`."""

    def __init__(self, inner: ChatClient, *, role: Role, model: str, store: StoreWriter, run_id: int | None):
        self.inner = inner
        self.role: Role = role
        self.model = model
        self.store = store
        self.run_id = run_id

    async def complete(self, messages: list[dict[str, str]]) -> ChatReply:
        try:
            reply = await self.inner.complete(messages)
        except LLMError as err:
            # a failed call answered nothing and is charged nothing; its row keeps the sentence
            self._log(messages, ChatReply(text="", latency_s=err.latency_s), error=str(err))
            raise
        self._log(messages, reply, error=None)
        return reply

    def _log(self, messages: list[dict[str, str]], reply: ChatReply, *, error: str | None) -> None:
        self.store.add_llm_call(
            LLMCall(
                run_id=self.run_id,
                role=self.role,
                model=self.model,
                prompt=json.dumps(messages, ensure_ascii=False),
                response=None if error is not None else reply.text,
                tokens_in=reply.tokens_in,
                tokens_out=reply.tokens_out,
                latency_s=reply.latency_s,
                cost_usd=reply.cost_usd,
                error=error,
                finish_reason=reply.finish_reason,
            )
        )
