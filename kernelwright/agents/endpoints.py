"""Facts about an endpoint read from its base URL and model name: whether it is on this machine
(so it needs no API key) and how it wants the per-call output cap spelled."""

from __future__ import annotations

from urllib.parse import urlparse

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}
# OpenAI's reasoning models reject max_tokens and want max_completion_tokens; llama.cpp, vLLM and
# Ollama know only max_tokens (llama.cpp silently ignores max_completion_tokens).
_REASONING_PREFIXES = ("o1", "o3", "o4", "gpt-5")


def is_local(base_url: str | None) -> bool:
    """True for an endpoint on this machine (a llama.cpp / vLLM / Ollama server, say)."""
    if not base_url:
        return False
    host = urlparse(base_url).hostname or ""
    return host in _LOCAL_HOSTS or host.endswith(".localhost")


def is_openai(base_url: str | None) -> bool:
    return (urlparse(base_url or "").hostname or "").endswith("openai.com")


def output_cap_parameter(base_url: str, model: str) -> str:
    """The request field that caps the completion's length on this endpoint."""
    if is_openai(base_url) and model.startswith(_REASONING_PREFIXES):
        return "max_completion_tokens"
    return "max_tokens"
