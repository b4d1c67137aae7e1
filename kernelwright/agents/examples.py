"""Kernels that won on other tasks of the same operator class, as a section of the Coder's prompt:
the store holds every winning kernel, so each task of a suite can start from what worked before.

Only verified-correct ('ok') attempts that beat PyTorch eager, never one of the task itself, at most
two, and always whole: when the section would exceed its token budget an example is left out, the
lower-ranked one first, rather than cutting code mid-way."""

from __future__ import annotations

import re
from collections.abc import Sequence

from kernelwright.agents.token_estimate import estimate_tokens
from kernelwright.contracts import Attempt, Status, StoredAttempt, Task
from kernelwright.gpu.target import CPU_DEVICE_NAME
from kernelwright.interfaces import StoreReader
from kernelwright.kernelbench.op_class import classify_task

MAX_EXAMPLES = 2
_BACKTICK_RUN = re.compile(r"`{3,}")


def reference_kernels(store: StoreReader, task: Task, gpu_name: str | None, token_budget: int) -> str:
    """The prompt section "Kernels that won on similar tasks" for `task` on `gpu_name` (None: any
    GPU), at most `token_budget` tokens by agents.token_estimate; "" when nothing fits or exists."""
    chosen = pick_examples(store, task, gpu_name, token_budget)
    return render_examples(classify_task(task).value, [s.attempt for s in chosen], gpu_name) if chosen else ""


def pick_examples(
    store: StoreReader, task: Task, gpu_name: str | None, token_budget: int
) -> list[StoredAttempt]:
    """The stored attempts `reference_kernels` shows (a run keeps their ids, so that a resumed run
    shows the same ones whatever the store has won since)."""
    if token_budget <= 0:
        return []
    op_class = classify_task(task).value
    # CPU runs win with PyTorch or C++, GPU runs with CUDA: neither is an example for the other
    on_cpu = gpu_name == CPU_DEVICE_NAME
    stored = store.best_of_class(op_class, gpu_name=gpu_name, exclude_task=task.key, limit=MAX_EXAMPLES + 4)
    examples = [
        s
        for s in stored
        if s.attempt.verdict.status == Status.ok
        and s.attempt.task_key != task.key
        and (s.attempt.gpu_name == CPU_DEVICE_NAME) == on_cpu
    ][:MAX_EXAMPLES]
    for chosen in _choices(examples):
        text = render_examples(op_class, [s.attempt for s in chosen], gpu_name)
        if estimate_tokens(text) <= token_budget:
            return chosen
    return []


def examples_of(store: StoreReader, attempt_ids: Sequence[int], task: Task, gpu_name: str | None) -> str:
    """The section for attempts chosen earlier by `pick_examples` (ids that vanished are left out)."""
    found = [stored.attempt for i in attempt_ids if (stored := store.attempt(i)) is not None]
    return render_examples(classify_task(task).value, found, gpu_name) if found else ""


def _choices(examples: list[StoredAttempt]) -> list[list[StoredAttempt]]:
    """What to try, best first: both, then the first alone, then the second alone."""
    if len(examples) < 2:
        return [examples] if examples else []
    return [examples[:2], examples[:1], examples[1:2]]


def render_examples(op_class: str, examples: Sequence[Attempt], gpu_name: str | None) -> str:
    parts = [
        "## Kernels that won on similar tasks\n",
        f"Verified-correct kernels from other {op_class} tasks, faster than PyTorch eager where they "
        "were measured. They solve a different task: reuse their techniques, not their shapes or names.\n",
    ]
    for attempt in examples:
        parts.append(
            f"### {attempt.task_key}: {_speedups(attempt)} on {_gpu_note(attempt.gpu_name, gpu_name)}\n"
        )
        # A fence longer than any backtick run inside the code, so the code cannot close it early.
        fence = "`" * max([3, *(len(run) + 1 for run in _BACKTICK_RUN.findall(attempt.code))])
        parts.append(f"{fence}python\n{attempt.code.rstrip()}\n{fence}\n")
    return "\n".join(parts)


def _speedups(attempt: Attempt) -> str:
    verdict = attempt.verdict
    said = [f"{verdict.speedup_vs_eager:.2f}x faster than eager"] if verdict.speedup_vs_eager else []
    if verdict.speedup_vs_compiled:
        said.append(f"{verdict.speedup_vs_compiled:.2f}x vs torch.compile")
    return ", ".join(said) or "speedup not recorded"


def _gpu_note(measured_on: str, target: str | None) -> str:
    if target is None or measured_on == target:
        return measured_on
    return f"{measured_on} (not the target GPU: its best tile sizes may differ)"
