"""The options `optimize` and `batch` share, declared once: a pydantic model whose fields are the CLI
flags (commands/options.py turns each field into one; its description is the help), validated by
this class and then split into the settings they decide."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, Field

from kernelwright.agents.config import LLMConfig
from kernelwright.agents.loop_config import LoopConfig
from kernelwright.gpu.target import DEFAULT_ARCH

# The options LLMConfig.from_env takes as overrides.
_LLM_OPTIONS = {"model", "coder_model", "judge_model", "base_url", "temperature", "coder_temperature",
                "judge_temperature", "reasoning_effort"}  # fmt: skip


class RunOptions(BaseModel):
    """Models, endpoints, the loop's rules and budgets, and where candidates are judged."""

    model_config = {"extra": "forbid"}

    model: str | None = Field(None, description="Model for both roles (else KERNELWRIGHT_MODEL).")
    coder_model: str | None = Field(None, description="Model of the Coder.")
    judge_model: str | None = Field(None, description="Model of the Judge.")
    base_url: str | None = Field(None, description="OpenAI-compatible endpoint for both roles.")
    temperature: float | None = Field(None, description="Sampling temperature for both roles.")
    coder_temperature: float | None = Field(
        None,
        description="Sampling temperature of the Coder (else KERNELWRIGHT_CODER_TEMPERATURE, 0.7; "
        "the endpoint's own for reasoning models).",
    )
    judge_temperature: float | None = Field(
        None,
        description="Sampling temperature of the Judge (else KERNELWRIGHT_JUDGE_TEMPERATURE, 0.2; "
        "the endpoint's own for reasoning models).",
    )
    reasoning_effort: str | None = Field(
        None, description="Reasoning effort (low/medium/high) for reasoning models, both roles."
    )
    llm_timeout: float | None = Field(
        None, gt=0, description="Seconds one LLM call may take (else KERNELWRIGHT_LLM_TIMEOUT, 300)."
    )
    llm_retries: int | None = Field(
        None,
        ge=0,
        description="Retries of an LLM call on 429/5xx/connection errors, never on a read timeout "
        "(else KERNELWRIGHT_LLM_RETRIES, 3).",
    )
    max_output_tokens: int | None = Field(
        None, ge=1, description="Cap on the tokens of one reply (else KERNELWRIGHT_MAX_OUTPUT_TOKENS)."
    )
    llm_concurrency: int | None = Field(
        None,
        ge=1,
        description="LLM calls in flight at once per endpoint; 1 for a server that serves one at a "
        "time (else KERNELWRIGHT_LLM_CONCURRENCY, 4).",
    )
    prompt_tokens: int | None = Field(
        None,
        ge=256,
        description="Estimated tokens a prompt may reach; older attempt history is left out to fit "
        "a small context.",
    )
    no_api_key: bool = Field(False, description="The endpoint needs no API key (implied for localhost).")
    rounds: int = Field(10, ge=1, description="Rounds of Judge + Coder (per task).")
    candidates: int = Field(2, ge=1, description="Candidates per round, written in parallel.")
    patience: int = Field(4, ge=1, description="Stop after this many rounds without a faster kernel.")
    noise_margin_pct: float = Field(
        3.0, ge=0, description="A kernel must be this % faster to count as progress for --patience."
    )
    max_usd: float | None = Field(None, description="Dollar budget for LLM calls (per task).")
    max_tokens: int | None = Field(None, description="Token budget, in + out (per task).")
    max_minutes: float | None = Field(None, description="Wall-time budget, minutes (per task).")
    compile_only: bool = Field(False, description="No GPU: compile and guard candidates on the CPU only.")
    device: Literal["cuda", "cpu"] = Field(
        "cuda",
        description="Where candidates run: cuda, or cpu (the sandbox's CPU protocol, for a run with no "
        "GPU; CPU timings are stored as GPU 'cpu').",
    )
    allow_torch: bool = Field(
        False, description="Let PyTorch ops do the work (every other check still applies)."
    )
    arch: str = Field(DEFAULT_ARCH, description="Target architecture for --compile-only.")
    profile: bool = Field(True, description="Profile correct candidates (ncu, NVML) for the Judge.")
    loader: Literal["cuda-python", "cupy", "pycuda"] = Field(
        "cuda-python",
        description="Library that loads and launches native candidates' NVRTC cubin: cuda-python, cupy "
        "or pycuda (same cubin, same verdict; `kernelwright doctor` lists the installed ones).",
    )

    def llm(self, env: Mapping[str, str] | None = None) -> LLMConfig:
        """Both roles' endpoints: the environment, overridden by the options that were given."""
        return LLMConfig.from_env(
            env,
            **self.model_dump(include=_LLM_OPTIONS),
            timeout_s=self.llm_timeout,
            max_retries=self.llm_retries,
            max_tokens=self.max_output_tokens,
            max_concurrency=self.llm_concurrency,
            no_api_key=True if self.no_api_key else None,
        )

    def loop(self, env: Mapping[str, str] | None = None) -> LoopConfig:
        values = self.model_dump(include=set(LoopConfig.model_fields))
        # the budget reserves the output cap however it was set (flag or environment)
        values["max_output_tokens"] = self.llm(env).coder.max_tokens
        return LoopConfig.model_validate(values)
