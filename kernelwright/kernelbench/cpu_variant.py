"""The CPU-sized variant of a task, for runs of the whole loop on a machine without a GPU.

KernelBench sizes are chosen for a GPU (a 1 GiB ReLU); on a CPU the sandbox's trials and timing
calls would take minutes each. The variant rewrites the module-level size constants (sizes.py's
deterministic halving) so inputs plus parameters hold at most CPU_TASK_NUMEL elements, and takes the
name `<name>@cpu`: its key stays apart from the GPU task's, whose stored best kernels (measured on the
full sizes) a different source would otherwise invalidate.
"""

from __future__ import annotations

import re
from pathlib import Path

from kernelwright.contracts import Task
from kernelwright.kernelbench.loader import module_from_source, task_from_source
from kernelwright.kernelbench.sizes import scaled_sizes, size_constants

CPU_TASK_NUMEL = 1 << 18
CPU_SUFFIX = "@cpu"


def cpu_variant(task: Task, max_numel: int = CPU_TASK_NUMEL) -> Task:
    """`task` with its sizes scaled down to about `max_numel` elements (unchanged sizes when they
    already fit), named `<name>@cpu`. Deterministic, so a resumed run finds the same task."""
    if task.name.endswith(CPU_SUFFIX):
        return task
    module = module_from_source(task.source, task.path or f"{task.name}.py")
    original = size_constants(module)
    sizes = scaled_sizes(module, max_numel)
    source = task.source
    changed = {name: value for name, value in sizes.items() if value != original[name]}
    for name, value in changed.items():
        source = re.sub(rf"(?m)^{re.escape(name)}\s*=\s*\d+", f"{name} = {value}", source, count=1)
    if changed:
        note = ", ".join(f"{name} {original[name]} -> {value}" for name, value in changed.items())
        source = f"# CPU-sized variant made by kernelwright (--device cpu): {note}\n{source}"
    path = Path(task.path) if task.path else Path(f"level{task.level}") / f"{task.name}.py"
    variant = task_from_source(source, path, name=task.name + CPU_SUFFIX)
    return variant.model_copy(update={"level": task.level, "task_id": task.task_id})
