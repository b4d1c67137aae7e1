"""The LLM client for one role, on the openai SDK: any OpenAI-compatible chat-completions endpoint
(hosted APIs, or llama.cpp / vLLM / Ollama on a local port).

Retries are this module's own (the SDK's are off): 408/409/429/5xx and connection errors are retried
with exponential backoff, honouring Retry-After; a read timeout is never retried, because the server
was generating and a retry would generate the whole reply again from scratch (a slow local model
would then time out N times over). One `complete()` is one call however many HTTP requests it took.
Writing each call to the store is agents/call_log.py's job, not the HTTP client's.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import openai

from kernelwright.agents.client_errors import LLMError, describe_error, retry_delay_s
from kernelwright.agents.config import Role, RoleConfig
from kernelwright.agents.endpoints import output_cap_parameter
from kernelwright.agents.prices import PriceTable
from kernelwright.contracts import ChatReply

__all__ = ["LLMError", "OpenAIChatClient"]

# The SDK refuses to start without a key; servers that need none (llama.cpp, vLLM, Ollama) ignore it.
_NO_KEY = "none"


class OpenAIChatClient:
    """One role's endpoint: concurrency limit, per-call timeout, retries, cost."""

    def __init__(
        self,
        role: Role,
        config: RoleConfig,
        *,
        prices: PriceTable,
        semaphore: asyncio.Semaphore | None = None,
    ):
        missing = config.missing()
        if missing:
            raise LLMError(f"The {role} has no {' and no '.join(missing)} configured.", transient=False)
        self.role: Role = role
        self.config = config
        self.model: str = config.model or ""
        self.prices = prices
        self.semaphore = semaphore or asyncio.Semaphore(4)
        key = config.api_key.get_secret_value() if config.api_key else ""
        self._sdk = openai.AsyncOpenAI(
            base_url=config.base_url, api_key=key or _NO_KEY, timeout=config.timeout_s, max_retries=0
        )

    async def aclose(self) -> None:
        await self._sdk.close()

    def _request_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {}
        if self.config.temperature is not None:
            opts["temperature"] = self.config.temperature
        if self.config.reasoning_effort is not None:
            opts["reasoning_effort"] = self.config.reasoning_effort
        if self.config.max_tokens is not None:
            opts[output_cap_parameter(self.config.base_url or "", self.model)] = self.config.max_tokens
        return opts

    async def complete(self, messages: list[dict[str, str]]) -> ChatReply:
        async with self.semaphore:
            start = time.monotonic()
            resp = await self._create(messages, start)
            latency = time.monotonic() - start
        choice = resp.choices[0] if resp.choices else None
        text = (choice.message.content or "") if choice else ""
        usage = resp.usage
        tokens_in = int(usage.prompt_tokens or 0) if usage else 0
        tokens_out = int(usage.completion_tokens or 0) if usage else 0
        return ChatReply(
            text=text,
            tokens_in=tokens_in,
            tokens_out=tokens_out,
            cost_usd=self.prices.cost_usd(self.model, tokens_in, tokens_out),
            latency_s=latency,
            model=self.model,
            finish_reason=str(choice.finish_reason) if choice and choice.finish_reason else None,
        )

    async def _create(self, messages: list[dict[str, str]], start: float) -> Any:
        for attempt in range(self.config.max_retries + 1):
            try:
                return await self._sdk.chat.completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    **self._request_options(),
                )
            except openai.OpenAIError as err:
                delay = retry_delay_s(err, attempt)
                if delay is None or attempt == self.config.max_retries:
                    error = describe_error(err, self.role, self.config, tries=attempt + 1)
                    error.latency_s = time.monotonic() - start
                    raise error from err
                await asyncio.sleep(delay)
        raise AssertionError("unreachable: the last try returns or raises")
