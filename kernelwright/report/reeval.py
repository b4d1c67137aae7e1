"""`kernelwright reeval`: re-verify and re-time the stored best kernels on this machine's GPU.

Each distinct best kernel of a task (one per GPU it was best on) goes through the Sandbox again and
is stored as a new attempt in mode 'reeval', parented to the attempt it re-checks, under a run
that keeps the original Coder model; so the leaderboard shows the same kernels on several GPUs.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable

from kernelwright.agents.parsing import candidate_from_code
from kernelwright.agents.wiring import OwnedEvaluator, evaluator_for
from kernelwright.contracts import Attempt, BestEntry, Verdict
from kernelwright.errors import KernelwrightError
from kernelwright.gpu.availability import require_gpu
from kernelwright.gpu.target import DEFAULT_ARCH, local_target
from kernelwright.interfaces import Evaluator, Store


def _gpu_evaluator(store: Store, gpu_index: int) -> OwnedEvaluator:
    """The evaluator of this machine's GPU `gpu_index`, whose figures the new attempts record."""
    require_gpu("`kernelwright reeval`", "run it where the GPU to compare is")
    target = local_target(str(gpu_index), DEFAULT_ARCH, option="--gpu")
    return evaluator_for(target, gpu_index=gpu_index, store=store)


def reeval_best(
    store: Store,
    *,
    task_filter: str | None = None,
    evaluate: Evaluator | None = None,
    gpu_index: int = 0,
    on_result: Callable[[str, Verdict], None] | None = None,
) -> list[tuple[str, Verdict]]:
    """Re-evaluates every stored best kernel (optionally of one task) with `evaluate`, else with this
    machine's GPU `gpu_index`; returns (task key, verdict)."""
    entries = store.best_all()
    if task_filter is not None:
        ref = task_filter.removesuffix(".py").strip("/")
        entries = [e for e in entries if ref in (e.task_key, e.task_name) or e.task_key.endswith("/" + ref)]
        if not entries:
            raise KernelwrightError(f"The store has no best kernel for task '{task_filter}' to re-evaluate.")
    if evaluate is not None:
        return _reeval(store, entries, evaluate, on_result)
    owned = _gpu_evaluator(store, gpu_index)
    try:
        return _reeval(store, entries, owned, on_result)
    finally:
        owned.close()


def _reeval(
    store: Store,
    entries: list[BestEntry],
    evaluate: Evaluator,
    on_result: Callable[[str, Verdict], None] | None,
) -> list[tuple[str, Verdict]]:
    runs: dict[str, int] = {}
    results: list[tuple[str, Verdict]] = []
    seen: set[tuple[str, str]] = set()
    index: dict[str, int] = defaultdict(int)
    try:
        for entry in entries:
            stored, task = store.attempt(entry.attempt_id), store.task(entry.task_key)
            if stored is None or task is None or (entry.task_key, stored.attempt.code) in seen:
                continue
            seen.add((entry.task_key, stored.attempt.code))
            source_run = store.run(entry.run_id)
            model = source_run.coder_model if source_run is not None else "unknown"
            code = stored.attempt.code
            verdict = evaluate(task, candidate_from_code(code, origin="reeval"))
            gpu = verdict.gpu_name or "unknown"
            if model not in runs:
                runs[model] = store.create_run(
                    {"kind": "reeval", "source": "best kernels"},
                    coder_model=model,
                    judge_model="",
                    gpu_name=gpu,
                )
            store.add_attempt(
                Attempt(
                    run_id=runs[model], task_key=entry.task_key, round=0, candidate_index=index[model],
                    mode="reeval", parent_attempt_id=entry.attempt_id, code=code, verdict=verdict, gpu_name=gpu,
                )
            )  # fmt: skip
            index[model] += 1
            results.append((entry.task_key, verdict))
            if on_result is not None:
                on_result(entry.task_key, verdict)
    finally:
        for run_id in runs.values():
            store.finish_run(run_id, "done")
    return results
