"""Checks the runner applies to the candidate beside it: the output's type and storage, aliasing,
threads left running, and whether torch, the clock or the harness were replaced.

They run in the candidate's own process, so a candidate can defeat them; they exist for fast, clear
messages. A failure they report is believed (a candidate gains nothing by failing), a pass is not:
the judge decides correctness and speed from data it checks itself.
"""

from __future__ import annotations

import errno
import os
import sys
import time
import traceback
import types
from collections.abc import Iterable, Sequence
from typing import Any

import torch

from kernelwright.contracts import Status
from kernelwright.sandbox.failures import CheckFailed
from kernelwright.sandbox.tensors import storage_range


class CandidateRaised(Exception):
    """The candidate's own code raised; carries a one-line description and its trimmed traceback."""

    def __init__(self, where: str, err: BaseException, candidate_file: str):
        self.log = trimmed_traceback(err, candidate_file)
        line = _candidate_line(err, candidate_file)
        at = f" (candidate line {line})" if line else ""
        super().__init__(f"{where} raised {type(err).__name__}: {str(err)[:300]}{at}")
        self.err = err


def _candidate_line(err: BaseException, candidate_file: str) -> int | None:
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == candidate_file]
    return frames[-1].lineno if frames else None


def trimmed_traceback(err: BaseException, candidate_file: str, limit: int = 3000) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    kept = [f for f in frames if f.filename == candidate_file] or frames[-1:]
    lines = [f"  {os.path.basename(f.filename)}, line {f.lineno}, in {f.name}: {f.line or ''}" for f in kept]
    text = "\n".join(lines + [f"{type(err).__name__}: {err}"])
    return text[-limit:]


def classify_exception(err: BaseException) -> tuple[Status, str]:
    text = str(err)
    if isinstance(err, MemoryError) or "can't allocate memory" in text or "out of memory" in text.lower():
        return Status.crashed, "memory-limit"
    if isinstance(err, PermissionError) and err.errno in (errno.EPERM, errno.EACCES):
        # The kernel's walls (seccomp, Landlock, the network namespace) answer a forbidden system call
        # with EPERM/EACCES; honest kernel code never makes one.
        return Status.rejected, "sandbox-wall"
    return Status.runtime_error, "exception"


def flatten_output(out: Any, who: str) -> list[torch.Tensor]:
    """The output as a list of tensors; anything but exactly torch.Tensor (or a tuple/list of them)
    is refused: a subclass or proxy could compute lazily when compared."""
    if type(out) is torch.Tensor:
        return [out]
    if type(out) in (tuple, list) and out and all(type(t) is torch.Tensor for t in out):
        return list(out)
    kinds = type(out).__name__ if type(out) not in (tuple, list) else ", ".join(type(t).__name__ for t in out)
    raise CheckFailed(Status.rejected, "output-type", f"{who} returned {kinds}, not exactly torch.Tensor")


def check_materialised(outputs: Sequence[torch.Tensor]) -> None:
    for t in outputs:
        problem = None
        if t.is_meta or t.layout != torch.strided:
            problem = f"has layout {t.layout} on {t.device}"
        elif t.numel() and t.untyped_storage().data_ptr() == 0:
            problem = "has no storage"
        elif t.numel() and t.untyped_storage().nbytes() < (t.storage_offset() + 1) * t.element_size():
            problem = "is smaller than its own shape"
        if problem:
            raise CheckFailed(Status.rejected, "output-not-materialised", f"the candidate's output {problem}")


def check_no_aliasing(outputs: Sequence[torch.Tensor], others: Iterable[Any], rule: str, what: str) -> None:
    """No output may share storage with any of `others` (an input, or an earlier call's output)."""
    ranges = [storage_range(x) for x in others if isinstance(x, torch.Tensor) and x.numel()]
    for i, out in enumerate(outputs):
        if not out.numel():
            continue
        start, end = storage_range(out)
        for j, (other_start, other_end) in enumerate(ranges):
            if start < other_end and other_start < end:
                raise CheckFailed(Status.rejected, rule, what.format(output=i, other=j))


# Owners whose attributes the timing relies on; replacing one is `timer-patched`.
TIMER_OWNERS = ("time", "torch.cuda", "torch.cuda.Event")


class TorchSnapshot:
    """Identity of every callable attribute of torch, its functional modules, time, the task module
    and the runner's own modules and classes (`harness`, by name), taken before the candidate is
    imported."""

    def __init__(self, task_module: types.ModuleType, harness: dict[str, Any] | None = None):
        owners: dict[str, Any] = {
            "torch": torch,
            "torch.nn.functional": torch.nn.functional,
            "torch.Tensor": torch.Tensor,
            "torch.nn.Module": torch.nn.Module,
            "torch.linalg": torch.linalg,
            "torch.fft": torch.fft,
            "torch.special": torch.special,
            "torch._C._nn": torch._C._nn,
            "torch._C._VariableFunctions": torch._C._VariableFunctions,
            "time": time,
            "torch.cuda": torch.cuda,
            "torch.cuda.Event": torch.cuda.Event,
            "reference": task_module,
        }
        owners[__name__] = sys.modules[__name__]
        owners.update(harness or {})
        self._owners = owners
        self._values = {label: self._callables(obj) for label, obj in owners.items()}
        self._flags = self._global_flags()

    @staticmethod
    def _members(obj: Any) -> dict[str, Any]:
        if hasattr(obj, "__dict__"):
            return dict(vars(obj))
        return {name: getattr(obj, name, None) for name in dir(obj) if not name.startswith("__")}

    @classmethod
    def _callables(cls, obj: Any) -> dict[str, Any]:
        return {k: v for k, v in cls._members(obj).items() if callable(v) or isinstance(v, types.ModuleType)}

    @staticmethod
    def _global_flags() -> dict[str, Any]:
        return {
            "torch.backends.cuda.matmul.allow_tf32": torch.backends.cuda.matmul.allow_tf32,
            "torch.backends.cudnn.allow_tf32": torch.backends.cudnn.allow_tf32,
            "torch.float32_matmul_precision": torch.get_float32_matmul_precision(),
            "torch.default_dtype": torch.get_default_dtype(),
        }

    def check(self) -> None:
        """Raises CheckFailed naming the first attribute that no longer is what it was."""
        for label, before in self._values.items():
            now = self._members(self._owners[label])
            for name, value in before.items():
                current = now.get(name)
                # `==` as well: attribute access on C types builds a new (equal) bound method each time.
                if current is not value and current != value:
                    rule = "timer-patched" if label in TIMER_OWNERS else "torch-patched"
                    if label.startswith("kernelwright."):
                        rule = "harness-patched"
                    raise CheckFailed(Status.rejected, rule, f"the candidate replaced {label}.{name}")
        flags = self._global_flags()
        for name, value in self._flags.items():
            if flags[name] != value:
                raise CheckFailed(Status.rejected, "torch-patched", f"the candidate changed {name}")
