"""The individual checks of the correctness protocol, each a small function on tensors.

verify.py sequences them; a failed check raises CheckFailed with the status and rule it implies.
"""

from __future__ import annotations

import sys
import time
import types
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from kernelwright.contracts import Status

# (atol, rtol) by dtype of the reference output; a task's ATOL/RTOL override them.
DEFAULT_TOLERANCE: dict[torch.dtype, tuple[float, float]] = {
    torch.float32: (1e-4, 1e-4),
    torch.float16: (1e-2, 1e-2),
    torch.bfloat16: (1e-2, 1e-2),
    torch.float64: (1e-7, 1e-7),
}


class CheckFailed(Exception):
    """A check that decided the verdict: carries status, rule and one sentence."""

    def __init__(self, status: Status, rule: str, message: str):
        super().__init__(message)
        self.status = status
        self.rule = rule
        self.message = message


def tolerance_for(dtype: torch.dtype, atol: float | None, rtol: float | None) -> tuple[float, float]:
    default_atol, default_rtol = DEFAULT_TOLERANCE.get(dtype, (0.0, 0.0))
    return (default_atol if atol is None else atol, default_rtol if rtol is None else rtol)


def flatten_output(out: Any, who: str) -> list[torch.Tensor]:
    """The output as a list of tensors; anything but exactly torch.Tensor (or a tuple/list of them)
    is refused: a subclass or proxy could compute lazily when compared."""
    if type(out) is torch.Tensor:
        return [out]
    if type(out) in (tuple, list) and out and all(type(t) is torch.Tensor for t in out):
        return list(out)
    kinds = type(out).__name__ if type(out) not in (tuple, list) else ", ".join(type(t).__name__ for t in out)
    raise CheckFailed(Status.rejected, "output-type", f"{who} returned {kinds}, not exactly torch.Tensor")


def storage_range(t: torch.Tensor) -> tuple[int, int]:
    storage = t.untyped_storage()
    start = storage.data_ptr()
    return start, start + storage.nbytes()


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


def check_no_aliasing(outputs: Sequence[torch.Tensor], inputs: Iterable[Any]) -> None:
    """No output may share storage with an input (returning or viewing an input is a hack)."""
    ranges = [storage_range(x) for x in inputs if isinstance(x, torch.Tensor) and x.numel()]
    for i, out in enumerate(outputs):
        if not out.numel():
            continue
        start, end = storage_range(out)
        for j, (in_start, in_end) in enumerate(ranges):
            if start < in_end and in_start < end:
                raise CheckFailed(
                    Status.rejected, "output-aliases-input", f"output {i} shares memory with input {j}"
                )


def same_values(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bitwise-equal values with NaN equal to NaN."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.is_floating_point() or a.is_complex():
        return bool(torch.equal(a.nan_to_num(0.0), b.nan_to_num(0.0)) and torch.equal(a.isnan(), b.isnan()))
    return bool(torch.equal(a, b))


def clone_inputs(inputs: Sequence[Any]) -> list[Any]:
    return [x.clone() if isinstance(x, torch.Tensor) else x for x in inputs]


def first_mutated(current: Sequence[Any], pristine: Sequence[Any]) -> int | None:
    for i, (now, before) in enumerate(zip(current, pristine, strict=True)):
        if isinstance(before, torch.Tensor) and not same_values(now, before):
            return i
    return None


@dataclass
class Comparison:
    passed: bool
    max_abs_error: float | None
    max_rel_error: float | None
    mismatched: int
    numel: int
    reason: str = ""


def compare(actual: torch.Tensor, expected: torch.Tensor, atol: float, rtol: float) -> Comparison:
    """|a - e| <= atol + rtol * |e| elementwise, and NaN/Inf in the same places."""
    for what, got, want in (
        ("shape", tuple(actual.shape), tuple(expected.shape)),
        ("dtype", actual.dtype, expected.dtype),
        ("device", actual.device, expected.device),
    ):
        if got != want:
            n = expected.numel()
            return Comparison(False, None, None, n, n, f"{what} {got} instead of {want}")
    a = actual.detach().to(torch.float64)
    e = expected.detach().to(torch.float64)
    nan_mismatch = a.isnan() != e.isnan()
    inf_mismatch = (a.isinf() | e.isinf()) & (a != e) & ~(a.isnan() | e.isnan())
    finite = a.isfinite() & e.isfinite()
    diff = torch.where(finite, (a - e).abs(), torch.zeros_like(a))
    bad = nan_mismatch | inf_mismatch | (diff > atol + rtol * e.abs().where(finite, torch.zeros_like(e)))
    mismatched = int(bad.sum())
    numel = expected.numel()
    max_abs = float(diff.max()) if numel else 0.0
    rel = diff / e.abs().clamp_min(1e-12)
    max_rel = float(rel.where(finite, torch.zeros_like(rel)).max()) if numel else 0.0
    reason = ""
    if mismatched:
        reason = f"{mismatched} of {numel} elements outside atol={atol:g}, rtol={rtol:g} (max abs error {max_abs:.3g})"
        if int(nan_mismatch.sum()) or int(inf_mismatch.sum()):
            reason += "; NaN/Inf in different places"
    return Comparison(mismatched == 0, max_abs, max_rel, mismatched, numel, reason)


# Owners whose attributes the reference (or the timer) relies on; a candidate replacing one of them
# poisons the reference or the measurement.
TIMER_OWNERS = ("time", "torch.cuda", "torch.cuda.Event")


def _harness_owners() -> dict[str, Any]:
    """The verifier's own modules and session class: patching them would fake a verdict."""
    from kernelwright.sandbox import launch_check, timing, verify

    return {
        "kernelwright.sandbox.verify": verify,
        "kernelwright.sandbox.verify_checks": sys.modules[__name__],
        "kernelwright.sandbox.timing": timing,
        "kernelwright.sandbox.launch_check": launch_check,
        "kernelwright.sandbox.verify.Session": verify.Session,
    }


class TorchSnapshot:
    """Identity of every callable attribute of torch, its functional modules, time, and the
    reference's own module and layer classes, taken before the candidate is imported."""

    def __init__(self, reference_module: types.ModuleType, reference_model: torch.nn.Module):
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
            "reference": reference_module,
        }
        owners.update(_harness_owners())
        for layer in reference_model.modules():
            cls = type(layer)
            owners.setdefault(f"{cls.__module__}.{cls.__qualname__}", cls)
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
