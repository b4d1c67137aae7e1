"""The LLM client for one role, on the openai SDK: any OpenAI-compatible chat-completions endpoint.

Retries: the SDK's own (`max_retries`) already retries 408/409/429/5xx, connection errors and
timeouts with exponential backoff and honours Retry-After, so this module does not add a second
layer; one `complete()` is one call however many HTTP requests it took. Writing each call to the
store is agents/call_log.py's job, not the HTTP client's.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import openai

from kernelwright.agents.config import Role, RoleConfig
from kernelwright.agents.prices import PriceTable
from kernelwright.contracts import ChatReply
from kernelwright.errors import KernelwrightError


class LLMError(KernelwrightError):
    """An LLM call failed after the SDK's retries. `transient` is False for errors a retry cannot fix
    (bad key, unknown model, bad request): the loop stops the run on those. `latency_s` is how long
    the call took before it failed (what its log row records)."""

    exit_code = 4

    def __init__(self, message: str, *, transient: bool, latency_s: float = 0.0):
        super().__init__(message)
        self.transient = transient
        self.latency_s = latency_s


class OpenAIChatClient:
    """One role's endpoint: concurrency limit, per-call timeout, SDK retries, cost."""

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
            base_url=config.base_url, api_key=key, timeout=config.timeout_s, max_retries=config.max_retries
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
            opts["max_completion_tokens"] = self.config.max_tokens
        return opts

    async def complete(self, messages: list[dict[str, str]]) -> ChatReply:
        async with self.semaphore:
            start = time.monotonic()
            try:
                resp = await self._sdk.chat.completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    **self._request_options(),
                )
            except openai.OpenAIError as err:
                error = _describe_error(err, self.role, self.config)
                error.latency_s = time.monotonic() - start
                raise error from err
            latency = time.monotonic() - start
        text = (resp.choices[0].message.content or "") if resp.choices else ""
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
        )


def _describe_error(err: openai.OpenAIError, role: str, config: RoleConfig) -> LLMError:
    where = f"The {role} endpoint {config.base_url} (model {config.model})"
    tries = config.max_retries + 1
    if isinstance(err, openai.APITimeoutError):
        return LLMError(
            f"{where} did not answer within {config.timeout_s:g} s, {tries} tries.", transient=True
        )
    if isinstance(err, openai.APIConnectionError):
        return LLMError(f"Cannot reach {where[0].lower()}{where[1:]} after {tries} tries.", transient=True)
    if isinstance(err, openai.AuthenticationError | openai.PermissionDeniedError):
        return LLMError(f"{where} refused the API key (HTTP {err.status_code}).", transient=False)
    if isinstance(err, openai.NotFoundError):
        return LLMError(f"{where} answered 404: wrong base URL or unknown model.", transient=False)
    if isinstance(err, openai.RateLimitError | openai.InternalServerError):
        return LLMError(
            f"{where} kept failing with HTTP {err.status_code} after {tries} tries.", transient=True
        )
    if isinstance(err, openai.APIStatusError):
        return LLMError(f"{where} rejected the request with HTTP {err.status_code}.", transient=False)
    return LLMError(f"{where} failed: {type(err).__name__}.", transient=True)
