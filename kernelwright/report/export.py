"""`kernelwright export`: the best stored kernel of a task as a standalone folder.

kernel.cu            the CUDA source(s), read statically from the candidate (never executed here)
model_new.py         the candidate as stored: KernelBench-format `ModelNew`
reference.py         the task's PyTorch reference (`Model`, `get_inputs`, `get_init_inputs`)
launcher.py          builds ModelNew on the reference's inputs, checks and times it once
test_<task>.py       a pytest correctness test against the reference (skips without a GPU)
README.md            where it came from: GPU, speedups, run and attempt ids
"""

from __future__ import annotations

import re
from importlib.resources import files
from pathlib import Path
from string import Template

from kernelwright.contracts import BestEntry
from kernelwright.errors import KernelwrightError, TaskError
from kernelwright.interfaces import StoreReader

DEFAULT_TOLERANCE = 1e-2  # KernelBench's atol = rtol for float32


def _matches(entry: BestEntry, ref: str) -> bool:
    ref = ref.removesuffix(".py").strip("/")
    return entry.task_key == ref or entry.task_name == ref or entry.task_key.endswith("/" + ref)


def pick_best(store: StoreReader, task_ref: str, gpu_name: str | None = None) -> BestEntry:
    """The stored best of a task: on `gpu_name`, else the highest speedup over eager on any GPU."""
    entries = [e for e in store.best_all(gpu_name) if _matches(e, task_ref)]
    keys = sorted({e.task_key for e in entries})
    if len(keys) > 1:
        raise TaskError(
            f"task name '{task_ref}' is ambiguous in the store: {', '.join(keys)}; pass the full key."
        )
    if not entries:
        where = f" on {gpu_name}" if gpu_name else ""
        raise TaskError(f"The store has no correct, measured kernel for task '{task_ref}'{where}.")
    return max(entries, key=lambda e: (e.speedup_vs_eager or 0.0, -e.attempt_id))


def _template(name: str) -> Template:
    return Template(
        files("kernelwright.report").joinpath("export_templates", name).read_text(encoding="utf-8")
    )


def _cuda_text(code: str) -> str:
    from kernelwright.sandbox.build.candidate_source import cuda_sources

    try:
        sources = cuda_sources(code)
    except Exception as err:  # a stored candidate always parsed once; say so rather than crash
        return f"// The CUDA source could not be read statically from model_new.py: {err}\n"
    if not sources:
        return "// model_new.py holds no CUDA source string (a PyTorch-level rewrite).\n"
    return "\n\n".join(sources).strip() + "\n"


def export_best(store: StoreReader, task_ref: str, out: Path, *, gpu_name: str | None = None) -> list[Path]:
    """Writes the standalone module into `out` (created if needed); returns the files written."""
    entry = pick_best(store, task_ref, gpu_name)
    stored = store.attempt(entry.attempt_id)
    task = store.task(entry.task_key)
    if stored is None or task is None:
        raise KernelwrightError(
            f"The store lost the source of task {entry.task_key} or attempt {entry.attempt_id}."
        )
    attempt = stored.attempt
    slug = re.sub(r"\W+", "_", entry.task_name).strip("_").lower() or "task"
    fields = {
        "task_key": entry.task_key,
        "gpu_name": entry.gpu_name,
        "speedup_eager": "-" if entry.speedup_vs_eager is None else f"{entry.speedup_vs_eager:.3f}x",
        "speedup_compiled": "-" if entry.speedup_vs_compiled is None else f"{entry.speedup_vs_compiled:.3f}x",
        "median_ms": f"{entry.candidate_median_ms:.4f}",
        "run_id": str(entry.run_id),
        "attempt_id": str(entry.attempt_id),
        "atol": repr(task.atol if task.atol is not None else DEFAULT_TOLERANCE),
        "rtol": repr(task.rtol if task.rtol is not None else DEFAULT_TOLERANCE),
        "slug": slug,
    }
    contents = {
        "kernel.cu": f"// {entry.task_key}: best kernel on {entry.gpu_name} (attempt {entry.attempt_id})\n"
        + _cuda_text(attempt.code),
        "model_new.py": attempt.code if attempt.code.endswith("\n") else attempt.code + "\n",
        "reference.py": task.source if task.source.endswith("\n") else task.source + "\n",
        "launcher.py": _template("launcher.py.txt").substitute(fields),
        f"test_{slug}.py": _template("test_kernel.py.txt").substitute(fields),
        "README.md": _template("README.md.txt").substitute(fields),
    }
    try:
        out.mkdir(parents=True, exist_ok=True)
        written = []
        for name, text in contents.items():
            path = out / name
            path.write_text(text, encoding="utf-8")
            written.append(path)
    except OSError as err:
        raise KernelwrightError(f"Cannot write the export to {out}: {err.strerror or err}.") from None
    return written
