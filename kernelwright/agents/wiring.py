"""What a run is wired from, built in one place for `optimize`, `batch` and `reeval`: the evaluator
and profiler a Target calls for, and a run's Coder and Judge clients, each call written to the store.

The agent loop itself never picks any of these; it receives them (tests hand in recorded ones).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from kernelwright.agents.call_limit import EndpointLimits
from kernelwright.agents.call_log import LoggedClient
from kernelwright.agents.client import OpenAIChatClient
from kernelwright.agents.config import ROLES, LLMConfig
from kernelwright.agents.prices import PriceTable
from kernelwright.contracts import Candidate, Task, Verdict
from kernelwright.gpu.target import Target
from kernelwright.interfaces import BaselineCache, ChatClient, ProfilerFn, StoreWriter
from kernelwright.sandbox.config import SandboxConfig


class OwnedEvaluator(Protocol):
    """An Evaluator that holds resources (a warm worker process) until whoever built it closes it."""

    def __call__(self, task: Task, candidate: Candidate) -> Verdict: ...

    def close(self) -> None: ...


class StaticCheck:
    """The compile-only evaluator: guard + NVRTC compile on the CPU; never runs candidate code."""

    def __init__(self, arch: str):
        self.arch = arch

    def __call__(self, task: Task, candidate: Candidate) -> Verdict:
        from kernelwright.sandbox.guard.static_check import static_verdict

        return static_verdict(task, candidate, arch=self.arch)

    def close(self) -> None:
        """Nothing to release: the check runs in the caller's thread."""


def evaluator_for(
    target: Target, *, gpu_index: int = 0, store: BaselineCache | None = None, loader: str = "cuda-python"
) -> OwnedEvaluator:
    """How `target` judges a candidate on one of its GPUs (`gpu_index`, an NVML index; 0 inside a Ray
    worker, whose one GPU Ray pinned): the Sandbox there, or the compile-only static check. `store`
    caches the torch.compile baseline; `loader` launches native candidates (sandbox.loaders)."""
    if target.compile_only:
        return StaticCheck(target.arch)
    from kernelwright.sandbox.evaluate import Sandbox

    return Sandbox(sandbox_config_for(target, gpu_index=gpu_index, loader=loader), store=store)


def sandbox_config_for(target: Target, *, gpu_index: int = 0, loader: str = "cuda-python") -> SandboxConfig:
    """The sandbox settings `target`'s candidates are judged by; the prompts state the same rules
    (agents/rules.py), so what the Coder is told and what is applied have one source."""
    return SandboxConfig(
        device=target.device, gpu_index=gpu_index, allow_torch=target.allow_torch, loader=loader
    )


def profiler_for(gpu_index: int = 0) -> ProfilerFn:
    """The profiler of one local GPU (ncu and NVML where usable; the digest the Judge reads)."""
    from kernelwright.profiler.profile import Profiler, ProfilerConfig

    return Profiler(ProfilerConfig(device_index=gpu_index))


@dataclass
class RunClients:
    """One run's Coder and Judge; `aclose()` closes their HTTP connections."""

    coder: ChatClient
    judge: ChatClient
    http_clients: list[OpenAIChatClient] = field(default_factory=list)

    async def aclose(self) -> None:
        for client in self.http_clients:
            await client.aclose()


def open_clients(
    llm: LLMConfig,
    store: StoreWriter,
    run_id: int,
    *,
    prices: PriceTable,
    limit: asyncio.Semaphore | EndpointLimits,
) -> RunClients:
    """Both roles' endpoints for `run_id`, each under its endpoint's share of `limit` (LLM calls in
    flight at once; a plain semaphore is shared by both); each call, answered or failed, is stored as
    an LLMCall of the run."""

    def limit_of(url: str | None) -> asyncio.Semaphore:
        return limit.for_url(url) if isinstance(limit, EndpointLimits) else limit

    http = [
        OpenAIChatClient(
            role, llm.for_role(role), prices=prices, semaphore=limit_of(llm.for_role(role).base_url)
        )
        for role in ROLES
    ]
    logged = [LoggedClient(c, role=c.role, model=c.model, store=store, run_id=run_id) for c in http]
    return RunClients(coder=logged[0], judge=logged[1], http_clients=http)
