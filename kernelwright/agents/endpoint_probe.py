"""One cheap call to a role's endpoint (a one-token completion), for `doctor`: does the base URL
answer, does it know the model, does it take the key; and the context size where the server says it
(vLLM's /v1/models `max_model_len`, llama.cpp's /props `n_ctx`, the model's `meta.n_ctx_train`)."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Sequence
from typing import Any

import openai
from pydantic import BaseModel

from kernelwright.agents.client_errors import describe_error
from kernelwright.agents.config import RoleConfig

PROBE_TIMEOUT_S = 20.0
_NO_KEY = "none"


class EndpointCheck(BaseModel):
    """What one endpoint answered; `problem` is one sentence, None when the call worked."""

    base_url: str
    model: str
    roles: list[str]
    problem: str | None = None
    context_tokens: int | None = None


def probe_endpoint(config: RoleConfig, roles: Sequence[str]) -> EndpointCheck:
    """Never raises: a failure is the check's `problem`."""
    check = EndpointCheck(base_url=config.base_url or "", model=config.model or "", roles=list(roles))
    key = config.api_key.get_secret_value() if config.api_key else ""
    headers = {"Authorization": f"Bearer {key or _NO_KEY}"}
    try:
        with openai.OpenAI(
            base_url=config.base_url, api_key=key or _NO_KEY, timeout=PROBE_TIMEOUT_S, max_retries=0
        ) as client:
            client.chat.completions.create(
                model=check.model, messages=[{"role": "user", "content": "Say OK."}], max_tokens=1
            )
    except openai.OpenAIError as err:
        probe_config = config.model_copy(update={"timeout_s": PROBE_TIMEOUT_S})
        check.problem = str(describe_error(err, " and ".join(roles), probe_config, tries=1))
    check.context_tokens = _context_tokens(check.base_url, check.model, headers)
    return check


def _context_tokens(base_url: str, model: str, headers: dict[str, str]) -> int | None:
    """The server's context size, if any of the places servers publish it says so."""
    root = base_url.rstrip("/")
    server_root = root[: -len("/v1")] if root.endswith("/v1") else root
    models = _get_json(f"{root}/models", headers)
    for entry in (models or {}).get("data") or []:
        if isinstance(entry, dict) and entry.get("id") == model:
            for value in (entry.get("max_model_len"), (entry.get("meta") or {}).get("n_ctx_train")):
                if isinstance(value, int) and value > 0:
                    return value
    props = _get_json(f"{server_root}/props", headers)
    n_ctx = ((props or {}).get("default_generation_settings") or {}).get("n_ctx")
    return n_ctx if isinstance(n_ctx, int) and n_ctx > 0 else None


def _get_json(url: str, headers: dict[str, str]) -> dict[str, Any] | None:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=5.0) as resp:
            data = json.loads(resp.read())
    except (OSError, ValueError):  # URLError and HTTPError are OSErrors; ValueError: not JSON
        return None
    return data if isinstance(data, dict) else None
