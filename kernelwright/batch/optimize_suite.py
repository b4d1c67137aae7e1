"""The batch wired to the agents: the plan (settings, target, config hash) and one run's clients.

The evaluator (a per-GPU pool of Sandboxes, a Ray pool, the compile-only static check, or recorded
Verdicts in tests) and the profiler are handed in (batch/evaluators.py builds the real ones).
"""

from __future__ import annotations

from kernelwright.agents.call_limit import EndpointLimits
from kernelwright.agents.prices import PriceTable
from kernelwright.agents.session import OptimizeSettings, require_complete
from kernelwright.agents.wiring import RunClients, open_clients
from kernelwright.batch.config import BatchConfig
from kernelwright.batch.plan import BatchPlan
from kernelwright.batch.runner import BatchState, ClientFactory, ProgressHook, run_batch
from kernelwright.contracts import Task
from kernelwright.errors import ConfigError
from kernelwright.gpu.target import Target
from kernelwright.interfaces import Evaluator, ProfilerFn, Store


def openai_clients(settings: OptimizeSettings, store: Store) -> ClientFactory:
    """One Coder and one Judge client per task run, logging to the store under that run."""
    prices = PriceTable.load(settings.llm.prices_path)

    def make(run_id: int, llm_limit: EndpointLimits) -> RunClients:
        return open_clients(settings.llm, store, run_id, prices=prices, limit=llm_limit)

    return make


async def optimize_suite(
    tasks: list[Task],
    settings: OptimizeSettings,
    batch: BatchConfig,
    target: Target,
    store: Store,
    *,
    evaluate: Evaluator,
    profile: ProfilerFn | None,
    workers: int,
    resume_run_id: int | None = None,
    on_progress: ProgressHook | None = None,
    make_clients: ClientFactory | None = None,
) -> BatchState:
    """Runs or resumes a batch of tasks through the agent loop. `evaluate` must be safe to call from
    several threads at once (the pools are); `workers` is how many evaluations run at once."""
    if not tasks:
        raise ConfigError("The batch has no tasks: check the suite folder, --level and --tasks.")
    require_complete(settings.llm)
    return await run_batch(
        BatchPlan(tasks=tasks, settings=settings, target=target, config=batch),
        store,
        evaluate=evaluate,
        profile=profile,
        make_clients=make_clients or openai_clients(settings, store),
        resume_run_id=resume_run_id,
        workers=workers,
        on_progress=on_progress,
    )
