"""`kernelwright export`: the best stored kernel of a task as a standalone folder.

--as files (default)
    kernel.cu            the CUDA source(s), read statically from the candidate (never executed here)
    model_new.py         the candidate as stored: KernelBench-format `ModelNew`
    reference.py         the task's PyTorch reference (`Model`, `get_inputs`, `get_init_inputs`)
    launcher.py          builds ModelNew on the reference's inputs, checks and times it once
    test_<task>.py       a pytest correctness test against the reference (skips without a GPU)
    README.md            where it came from: GPU, speedups, run and attempt ids
--as torch-op
    kernel.cu, model_new.py, reference.py, README.md as above, and
    torch_op.py          `torch.ops.kernelwright.<task>`: a torch.library custom op with a fake
                         implementation (torch.compile, torch.export), and `KernelModule`
    test_torch_op.py     tracing checks (any machine) and the compiled-model check (GPU)
--as cupy | pycuda
    kernel.cu, model_new.py, reference.py, README.md as above, and
    cupy_kernels.py / pycuda_kernels.py   the kernels as Python functions on cupy / pycuda arrays
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal, get_args

from kernelwright.contracts import BestEntry
from kernelwright.errors import ConfigError, KernelwrightError, TaskError
from kernelwright.interfaces import StoreReader
from kernelwright.report.export_common import cuda_text, op_name, template
from kernelwright.report.export_raw import raw_module

DEFAULT_TOLERANCE = 1e-2  # KernelBench's atol = rtol for float32

ExportFormat = Literal["files", "torch-op", "cupy", "pycuda"]
EXPORT_FORMATS: tuple[str, ...] = get_args(ExportFormat)


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


def export_format(value: str) -> ExportFormat:
    """`value` checked as an export format; one sentence naming the choices otherwise."""
    for known in get_args(ExportFormat):
        if value == known:
            return known  # type: ignore[no-any-return]
    raise ConfigError(f"--as must be one of {', '.join(EXPORT_FORMATS)}, not '{value}'.")


def export_best(
    store: StoreReader,
    task_ref: str,
    out: Path,
    *,
    gpu_name: str | None = None,
    as_: ExportFormat = "files",
) -> list[Path]:
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
        "op_name": op_name(entry.task_key),
    }
    contents = {
        "kernel.cu": f"// {entry.task_key}: best kernel on {entry.gpu_name} (attempt {entry.attempt_id})\n"
        + cuda_text(attempt.code),
        "model_new.py": attempt.code if attempt.code.endswith("\n") else attempt.code + "\n",
        "reference.py": task.source if task.source.endswith("\n") else task.source + "\n",
    }
    if as_ == "files":
        contents["launcher.py"] = template("launcher.py.txt").substitute(fields)
        contents[f"test_{slug}.py"] = template("test_kernel.py.txt").substitute(fields)
        contents["README.md"] = template("README.md.txt").substitute(fields)
    elif as_ == "torch-op":
        contents["torch_op.py"] = template("torch_op.py.txt").substitute(fields)
        contents["test_torch_op.py"] = template("test_torch_op.py.txt").substitute(fields)
        contents["README.md"] = template("README_torch_op.md.txt").substitute(fields)
    else:
        contents[f"{as_}_kernels.py"] = raw_module(as_, attempt.code, fields)
        contents["README.md"] = template("README_raw.md.txt").substitute(fields, kind=as_)
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
