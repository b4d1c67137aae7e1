"""The batch's bookkeeping in the store: a batch run records the plan, each task gets its own run.

Run configs carry `kind` ('batch' or 'batch-task'), the config hash, the batch id and the task key,
so "is this task already done for this configuration?" and "which run was this task using when
the batch died?" are plain reads of the runs table, across processes and machines.
"""

from __future__ import annotations

import threading

from kernelwright.agents.prompt_context import EXAMPLES_KEY, choose_example_ids
from kernelwright.batch.plan import BatchPlan
from kernelwright.contracts import Attempt, LLMCall, RunInfo, Task
from kernelwright.errors import ConfigError
from kernelwright.interfaces import Store

BATCH = "batch"
BATCH_TASK = "batch-task"
# Loop statuses that end a task for good under its configuration; 'failed' (endpoint errors),
# 'interrupted' and a killed 'running' run go on when the batch is resumed.
FINISHED = frozenset({"done", "solved", "stalled", "compiled", "budget"})


class BatchLedger:
    """Reads and writes batch/task runs through the Store seam."""

    def __init__(self, store: Store):
        self.store = store
        self._lock = threading.Lock()
        self._runs = store.runs()  # one read up front: a batch asks once per task

    def _task_runs(self) -> list[RunInfo]:
        return [r for r in self._runs if r.config.get("kind") == BATCH_TASK]

    def open_batch(self, plan: BatchPlan) -> int:
        config = {
            "kind": BATCH,
            "config_hash": plan.hash,
            "settings": plan.relevant,
            "task_keys": [t.key for t in plan.tasks],
            "batch": plan.config.model_dump(),
            "target": plan.target.model_dump(mode="json"),
        }
        return self.store.create_run(
            config, coder_model=plan.coder_model, judge_model=plan.judge_model, gpu_name=plan.target.gpu_name
        )

    def check_resumable(self, run_id: int, plan: BatchPlan) -> None:
        """A resumed batch must be a batch run of this store with the same result-relevant settings."""
        run = self.store.run(run_id)
        if run is None or run.config.get("kind") != BATCH:
            raise ConfigError(f"Run {run_id} is not a batch run in this store; nothing to resume.")
        if run.config.get("config_hash") != plan.hash:
            raise ConfigError(
                f"Batch run {run_id} was started with other settings (config hash "
                f"{run.config.get('config_hash')}, now {plan.hash}); start a new batch instead."
            )

    def finished_task_run(self, task_key: str, config_hash: str) -> int | None:
        """A run, from any batch, that finished this task under the same configuration."""
        with self._lock:
            for run in self._task_runs():
                c = run.config
                if (
                    c.get("task_key") == task_key
                    and c.get("config_hash") == config_hash
                    and run.status in FINISHED
                ):
                    return run.id
        return None

    def open_task_run(self, batch_run_id: int, task: Task, plan: BatchPlan) -> int:
        """The task's run in this batch: the interrupted one if there is one, else a new one."""
        with self._lock:
            for run in self._task_runs():
                c = run.config
                if (
                    c.get("batch_run_id") == batch_run_id
                    and c.get("task_key") == task.key
                    and run.status not in FINISHED
                ):
                    return run.id
        self.store.add_task(task)
        config = {
            "kind": BATCH_TASK,
            "batch_run_id": batch_run_id,
            "task_key": task.key,
            "config_hash": plan.hash,
            "settings": plan.relevant,
            # chosen now, so that a resumed task shows the same examples (agents/prompt_context.py)
            EXAMPLES_KEY: choose_example_ids(task, plan.target, self.store, plan.settings.loop.prompt_tokens),
        }
        return self.store.create_run(
            config, coder_model=plan.coder_model, judge_model=plan.judge_model, gpu_name=plan.target.gpu_name
        )

    def finish_task_run(self, run_id: int, status: str) -> None:
        self.store.finish_run(run_id, status)
        fresh = self.store.run(run_id)
        with self._lock:
            self._runs = [r for r in self._runs if r.id != run_id] + ([fresh] if fresh is not None else [])

    def finish_batch(self, run_id: int, status: str) -> None:
        self.store.finish_run(run_id, status)

    def prior_attempts(self, run_id: int, task_key: str) -> tuple[list[Attempt], list[int]]:
        stored = [s for s in self.store.attempts_for_task(task_key) if s.attempt.run_id == run_id]
        return [s.attempt for s in stored], [s.id for s in stored]

    def prior_llm_calls(self, run_id: int) -> list[LLMCall]:
        return self.store.llm_calls(run_id)

    def example_ids(self, run_id: int) -> list[int]:
        """The example kernels a task's run was given when it started."""
        run = self.store.run(run_id)
        return list(run.config.get(EXAMPLES_KEY, [])) if run is not None else []
