"""LLM settings per role (Coder, Judge): defaults < environment < explicit overrides.

OPENAI_BASE_URL / OPENAI_API_KEY are the defaults for both roles; KERNELWRIGHT_MODEL sets the model
of both; KERNELWRIGHT_{CODER,JUDGE}_{MODEL,BASE_URL,API_KEY} override one role. Client limits:
KERNELWRIGHT_LLM_TIMEOUT (s), KERNELWRIGHT_LLM_RETRIES, KERNELWRIGHT_LLM_CONCURRENCY,
KERNELWRIGHT_MAX_OUTPUT_TOKENS, and KERNELWRIGHT_NO_API_KEY=1 for a server that needs no key. Keys
are SecretStr so that no repr, log line or stored config ever shows them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError

from kernelwright.agents.endpoints import is_local
from kernelwright.errors import ConfigError

Role = Literal["coder", "judge"]
ROLES: tuple[Role, Role] = ("coder", "judge")


class RoleConfig(BaseModel):
    """How to reach the model that plays one role."""

    model_config = {"extra": "forbid"}

    base_url: str | None = Field(None, description="OpenAI-compatible endpoint, e.g. http://host:8000/v1.")
    api_key: SecretStr | None = Field(
        None, description="Bearer key for the endpoint; never logged or stored."
    )
    model: str | None = Field(None, description="Model name as the endpoint knows it.")
    temperature: float | None = Field(
        None, description="Sampling temperature; None leaves the endpoint's default (reasoning models)."
    )
    reasoning_effort: str | None = Field(
        None, description="'low' | 'medium' | 'high' for reasoning models; None sends nothing."
    )
    timeout_s: float = Field(300.0, gt=0, description="Per-call wall-clock limit in seconds.")
    max_retries: int = Field(
        3, ge=0, description="Retries on 429, 5xx, connection errors and timeouts (SDK backoff)."
    )
    max_tokens: int | None = Field(
        None, ge=1, description="Cap on completion tokens per call; None: endpoint default."
    )
    key_required: bool = Field(True, description="False for a server that needs no API key (--no-api-key).")

    def needs_key(self) -> bool:
        """A server on this machine (llama.cpp, vLLM, Ollama) is trusted to need none."""
        return self.key_required and not is_local(self.base_url)

    def missing(self) -> list[str]:
        """Names of the settings this role cannot run without."""
        out = []
        if not self.base_url:
            out.append("base URL")
        if self.needs_key() and (self.api_key is None or not self.api_key.get_secret_value()):
            out.append("API key")
        if not self.model:
            out.append("model")
        return out

    def describe(self) -> dict[str, Any]:
        """A JSON-safe view for display and for the stored run config: the key is only 'set'/'unset'."""
        return {
            "base_url": self.base_url,
            "api_key": "set" if self.api_key is not None and self.api_key.get_secret_value() else "unset",
            "model": self.model,
            "temperature": self.temperature,
            "reasoning_effort": self.reasoning_effort,
            "timeout_s": self.timeout_s,
            "max_retries": self.max_retries,
            "max_tokens": self.max_tokens,
        }


class LLMConfig(BaseModel):
    """Both roles' endpoints, plus the client-wide limits."""

    model_config = {"extra": "forbid"}

    coder: RoleConfig = Field(default_factory=RoleConfig, description="The model that writes kernels.")
    judge: RoleConfig = Field(default_factory=RoleConfig, description="The model that diagnoses and plans.")
    max_concurrency: int = Field(
        4, ge=1, description="LLM calls in flight at once, per endpoint (a base URL)."
    )
    prices_path: str | None = Field(
        None,
        description="Extra price table (JSON: model -> {input_per_mtok, output_per_mtok}); env KERNELWRIGHT_PRICES.",
    )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> LLMConfig:
        """Reads the conventional environment, then applies overrides.

        Overrides: `model` (both roles), `base_url` (both), `api_key` (both), `coder_model`,
        `judge_model`, `coder_base_url`, `judge_base_url`, `coder_api_key`, `judge_api_key`,
        `coder_temperature`, `judge_temperature`, `coder_reasoning_effort`, `judge_reasoning_effort`,
        `timeout_s`, `max_retries`, `max_tokens`, `no_api_key`, `max_concurrency`, `prices_path`.
        None values are ignored.
        """
        env = os.environ if env is None else env
        ov = {k: v for k, v in overrides.items() if v is not None}
        for name, var in _ENV_LIMITS.items():
            if name not in ov and env.get(var):
                ov[name] = env[var]
        prices = ov.get("prices_path") or env.get("KERNELWRIGHT_PRICES") or None
        extra = {"max_concurrency": ov["max_concurrency"]} if "max_concurrency" in ov else {}
        try:
            roles = {role: _role_from(env, ov, role) for role in ROLES}
            return cls(coder=roles["coder"], judge=roles["judge"], prices_path=prices, **extra)
        except ValidationError as err:  # a bad environment value is the user's, said in one sentence
            problem = err.errors()[0]
            env_names = ", ".join(_ENV_LIMITS.values())
            raise ConfigError(
                f"LLM setting {problem['loc'][-1]}: {problem['msg']} (check {env_names})."
            ) from None

    def for_role(self, role: Role) -> RoleConfig:
        return self.coder if role == "coder" else self.judge

    def missing(self) -> list[str]:
        """'coder model', 'judge API key' ... for every required setting that is unset."""
        return [f"{role} {what}" for role in ROLES for what in self.for_role(role).missing()]

    def describe(self) -> dict[str, Any]:
        return {
            "coder": self.coder.describe(),
            "judge": self.judge.describe(),
            "max_concurrency": self.max_concurrency,
            "prices_path": self.prices_path,
        }


# Client limits that the environment sets for both roles when no option does.
_ENV_LIMITS = {
    "timeout_s": "KERNELWRIGHT_LLM_TIMEOUT",
    "max_retries": "KERNELWRIGHT_LLM_RETRIES",
    "max_tokens": "KERNELWRIGHT_MAX_OUTPUT_TOKENS",
    "max_concurrency": "KERNELWRIGHT_LLM_CONCURRENCY",
    "no_api_key": "KERNELWRIGHT_NO_API_KEY",
}


# Reasoning models reject or ignore a sampling temperature (OpenAI's o-series and gpt-5 answer 400).
_REASONING_MODELS = re.compile(r"(^|/)(o\d|gpt-5)|reason|think|deepseek-r1|qwq", re.IGNORECASE)
DEFAULT_TEMPERATURE: dict[str, float] = {"coder": 0.7, "judge": 0.2}
"""The Coder samples K different candidates per round; the Judge should read the same evidence the
same way."""


def default_temperature(role: Role, model: str | None, reasoning_effort: str | None) -> float | None:
    """The role's default, or None (the endpoint's own) for a reasoning model."""
    if reasoning_effort or (model and _REASONING_MODELS.search(model)):
        return None
    return DEFAULT_TEMPERATURE[role]


def _first(*values: Any) -> Any:
    for v in values:
        if v is not None and v != "":
            return v
    return None


def _role_from(env: Mapping[str, str], ov: dict[str, Any], role: Role) -> RoleConfig:
    up = role.upper()
    key = _first(
        ov.get(f"{role}_api_key"),
        ov.get("api_key"),
        env.get(f"KERNELWRIGHT_{up}_API_KEY"),
        env.get("OPENAI_API_KEY"),
    )
    fields: dict[str, Any] = {
        "base_url": _first(
            ov.get(f"{role}_base_url"),
            ov.get("base_url"),
            env.get(f"KERNELWRIGHT_{up}_BASE_URL"),
            env.get("OPENAI_BASE_URL"),
        ),
        "api_key": SecretStr(str(key)) if key is not None else None,
        "model": _first(
            ov.get(f"{role}_model"),
            ov.get("model"),
            env.get(f"KERNELWRIGHT_{up}_MODEL"),
            env.get("KERNELWRIGHT_MODEL"),
        ),
        "temperature": _first(
            ov.get(f"{role}_temperature"), ov.get("temperature"), env.get(f"KERNELWRIGHT_{up}_TEMPERATURE")
        ),
        "reasoning_effort": _first(ov.get(f"{role}_reasoning_effort"), ov.get("reasoning_effort")),
    }
    if fields["temperature"] is None:
        fields["temperature"] = default_temperature(role, fields["model"], fields["reasoning_effort"])
    for name in ("timeout_s", "max_retries", "max_tokens"):
        if name in ov:
            fields[name] = ov[name]
    if "no_api_key" in ov:
        fields["key_required"] = str(ov["no_api_key"]).lower() in {"0", "false", "no", ""}
    return RoleConfig(**fields)
