"""A suite through the agent loop: many tasks at once, LLM calls bounded, evaluations queued on GPUs.

Every task gets its own run (config: batch id, task key, config hash), so costs and times are per
task and a task is "done" exactly when its run finished. The batch run records the plan. Resume:
tasks done for the same config hash are skipped; an interrupted task goes on in its own run (the
loop resumes from the stored attempts, and batch/replay.py replays the round that was cut short).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

from kernelwright.agents.call_limit import EndpointLimits
from kernelwright.agents.loop import optimize_task
from kernelwright.agents.prompt_context import prompt_context
from kernelwright.agents.wiring import RunClients
from kernelwright.batch.ledger import BatchLedger
from kernelwright.batch.plan import BatchPlan
from kernelwright.batch.replay import ReplayChat, ReplayEvaluator, ReplayProfiler, ReplayStore, SpendMeter
from kernelwright.contracts import Attempt, Task
from kernelwright.interfaces import Evaluator, ProfilerFn, Store


class ClientFactory(Protocol):
    """Builds one task-run's Coder and Judge clients; they log calls to the store under run_id and
    share `llm_limit`, the batch-wide bound on LLM calls in flight per endpoint."""

    def __call__(self, run_id: int, llm_limit: EndpointLimits) -> RunClients: ...


@dataclass
class TaskOutcome:
    task_key: str
    run_id: int | None
    status: str  # 'done', 'skipped', 'failed'
    best_speedup: float | None = None
    attempts: int = 0
    message: str = ""


@dataclass
class BatchState:
    """What the progress display shows; updated by the runner as tasks finish."""

    batch_run_id: int
    total: int
    outcomes: list[TaskOutcome] = field(default_factory=list)
    running: set[str] = field(default_factory=set)
    meter: SpendMeter = field(default_factory=SpendMeter)
    started: float = field(default_factory=time.monotonic)
    llm_limits: EndpointLimits | None = None

    @property
    def finished(self) -> int:
        return len(self.outcomes)


ProgressHook = Callable[[BatchState], None]


def best_speedup(attempts: Sequence[Attempt]) -> float | None:
    ok = [a.verdict.speedup_vs_eager for a in attempts if a.verdict.status == "ok"]
    present = [s for s in ok if s is not None]
    return max(present) if present else None


async def _run_one(
    task: Task,
    plan: BatchPlan,
    ledger: BatchLedger,
    state: BatchState,
    *,
    evaluate: Evaluator,
    profile: ProfilerFn | None,
    make_clients: ClientFactory,
    llm_limit: EndpointLimits,
) -> TaskOutcome:
    done_run = ledger.finished_task_run(task.key, plan.hash)
    if done_run is not None:
        prior = ledger.prior_attempts(done_run, task.key)[0]
        return TaskOutcome(task.key, done_run, "skipped", best_speedup(prior), len(prior), "done before")
    run_id = ledger.open_task_run(state.batch_run_id, task, plan)
    attempts, ids = ledger.prior_attempts(run_id, task.key)
    calls = ledger.prior_llm_calls(run_id)
    clients = make_clients(run_id, llm_limit)
    coder = ReplayChat(clients.coder, [c for c in calls if c.role == "coder"], meter=state.meter)
    judge = ReplayChat(clients.judge, [c for c in calls if c.role == "judge"], meter=state.meter)
    store = ReplayStore(ledger.store, attempts, ids)
    replay_eval = ReplayEvaluator(evaluate, store.hidden)
    replay_profile = ReplayProfiler(profile, replay_eval) if profile is not None else None
    state.running.add(task.key)
    try:
        result = await optimize_task(
            task,
            coder=coder,
            judge=judge,
            evaluate=replay_eval,
            profile=replay_profile,
            store=store,
            run_id=run_id,
            config=plan.settings.loop,
            target=plan.target,
            context=prompt_context(
                task, plan.target, store=ledger.store, example_ids=ledger.example_ids(run_id)
            ),
        )
    except Exception as err:  # one task's failure must not stop the suite; it is recorded
        ledger.finish_task_run(run_id, "failed")
        return TaskOutcome(task.key, run_id, "failed", message=f"{type(err).__name__}: {err}")
    except BaseException:  # Ctrl-C or cancellation: the run goes on at the next --resume
        ledger.finish_task_run(run_id, "interrupted")
        raise
    finally:
        state.running.discard(task.key)
        await clients.aclose()
    ledger.finish_task_run(run_id, result.status)
    final = ledger.prior_attempts(run_id, task.key)[0]
    return TaskOutcome(task.key, run_id, result.status, best_speedup(final), len(final), result.message)


async def run_batch(
    plan: BatchPlan,
    store: Store,
    *,
    evaluate: Evaluator,
    profile: ProfilerFn | None,
    make_clients: ClientFactory,
    resume_run_id: int | None = None,
    workers: int = 1,
    on_progress: ProgressHook | None = None,
) -> BatchState:
    """Runs (or resumes) a batch; returns its final state. Tasks fail independently."""
    ledger = BatchLedger(store)
    if resume_run_id is None:
        batch_run_id = ledger.open_batch(plan)
    else:
        ledger.check_resumable(resume_run_id, plan)
        batch_run_id = resume_run_id
    llm_limit = EndpointLimits(plan.config.llm_concurrency)
    state = BatchState(batch_run_id=batch_run_id, total=len(plan.tasks), llm_limits=llm_limit)
    if on_progress is not None:
        on_progress(state)
    slots = asyncio.Semaphore(plan.config.tasks_at_once(workers))
    # agents wait for GPUs in threads (to_thread): give the loop enough of them
    loop = asyncio.get_running_loop()
    loop.set_default_executor(ThreadPoolExecutor(max_workers=plan.config.tasks_at_once(workers) * 2 + 4))

    async def one(task: Task) -> None:
        async with slots:
            outcome = await _run_one(
                task,
                plan,
                ledger,
                state,
                evaluate=evaluate,
                profile=profile,
                make_clients=make_clients,
                llm_limit=llm_limit,
            )
        state.outcomes.append(outcome)
        if on_progress is not None:
            on_progress(state)

    await asyncio.gather(*(one(t) for t in plan.tasks))
    failed = any(o.status == "failed" for o in state.outcomes)
    ledger.finish_batch(batch_run_id, "failed" if failed else "done")
    return state
