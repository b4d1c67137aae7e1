"""How a failed LLM request reads (one sentence with the server's own reason) and whether it is
worth another try."""

from __future__ import annotations

from typing import Any

import openai

from kernelwright.agents.config import RoleConfig
from kernelwright.errors import KernelwrightError

# Words servers use when the prompt (plus the output cap) does not fit the model's context:
# OpenAI and vLLM 'maximum context length', llama.cpp 'exceeds the available context size',
# Ollama 'context window'.
_CONTEXT_MARKERS = ("context_length_exceeded", "context length", "context size", "context window", "n_ctx")
_RETRIED_STATUS = {408, 409, 429}
_MAX_DELAY_S = 8.0


class LLMError(KernelwrightError):
    """An LLM call failed after its retries. `transient` is False for errors a retry cannot fix
    (bad key, unknown model, bad request): the loop stops the run on those. `latency_s` is how long
    the call took before it failed (what its log row records)."""

    exit_code = 4

    def __init__(self, message: str, *, transient: bool, latency_s: float = 0.0):
        super().__init__(message)
        self.transient = transient
        self.latency_s = latency_s


def retry_delay_s(err: openai.OpenAIError, attempt: int) -> float | None:
    """Seconds to wait before trying again, or None when another try cannot help (a read timeout
    among them: the server was generating, and a retry would start the generation over)."""
    if isinstance(err, openai.APITimeoutError):
        return None
    if isinstance(err, openai.APIConnectionError):
        return _backoff(attempt)
    if isinstance(err, openai.APIStatusError) and (
        err.status_code in _RETRIED_STATUS or err.status_code >= 500
    ):
        return _retry_after_s(err.response.headers) or _backoff(attempt)
    return None


def _backoff(attempt: int) -> float:
    return float(min(0.5 * 2**attempt, _MAX_DELAY_S))


def _retry_after_s(headers: Any) -> float | None:
    try:
        if "retry-after-ms" in headers:
            return min(float(headers["retry-after-ms"]) / 1000, _MAX_DELAY_S)
        if "retry-after" in headers:
            return min(float(headers["retry-after"]), _MAX_DELAY_S)
    except ValueError:  # an HTTP date: fall back to the backoff
        return None
    return None


def server_reason(err: openai.APIStatusError) -> str:
    """The server's own message ('maximum context length is 1024 tokens ...'), on one line."""
    body = err.body
    message: Any = None
    if isinstance(body, dict):
        message = body.get("message") or body.get("detail") or body.get("error")
        if isinstance(message, dict):
            message = message.get("message")
        code = body.get("code") or body.get("type")
        if message and code and str(code) not in str(message):
            message = f"{message} ({code})"
    elif isinstance(body, str):
        message = body
    text = " ".join(str(message or err.response.text or "").split())
    return text[:300]


def is_context_overflow(reason: str) -> bool:
    return any(marker in reason.lower() for marker in _CONTEXT_MARKERS)


def describe_error(err: openai.OpenAIError, role: str, config: RoleConfig, *, tries: int) -> LLMError:
    where = f"The {role} endpoint {config.base_url} (model {config.model})"
    if isinstance(err, openai.APITimeoutError):
        return LLMError(
            f"{where} did not answer within {config.timeout_s:g} s (not retried: a retry would "
            "generate the reply again from scratch); give a slow model more time with --llm-timeout.",
            transient=True,
        )
    if isinstance(err, openai.APIConnectionError):
        return LLMError(f"Cannot reach {where[0].lower()}{where[1:]} after {tries} tries.", transient=True)
    if isinstance(err, openai.AuthenticationError | openai.PermissionDeniedError):
        return LLMError(f"{where} refused the API key (HTTP {err.status_code}).", transient=False)
    if isinstance(err, openai.NotFoundError):
        return LLMError(f"{where} answered 404: wrong base URL or unknown model.", transient=False)
    if isinstance(err, openai.APIStatusError) and retry_delay_s(err, 0) is not None:
        return LLMError(
            f"{where} kept failing with HTTP {err.status_code} after {tries} tries: {server_reason(err)}",
            transient=True,
        )
    if isinstance(err, openai.APIStatusError):
        reason = server_reason(err)
        hint = ""
        if is_context_overflow(reason):
            hint = (
                " The prompt and output cap do not fit the model's context: raise the server's context "
                "(llama.cpp --ctx-size / n_ctx, vLLM --max-model-len, Ollama num_ctx) or lower "
                "--prompt-tokens / --max-output-tokens."
            )
        return LLMError(
            f"{where} rejected the request with HTTP {err.status_code}: {reason}.{hint}", transient=False
        )
    return LLMError(f"{where} failed: {type(err).__name__}.", transient=True)
