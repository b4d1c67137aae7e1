"""The judge's comparison of an output with the reference: |a - e| <= atol + rtol * |e| per element,
NaN/Inf in the same places, with the tolerance per dtype (a task's ATOL/RTOL override it)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

# (atol, rtol) by dtype of the reference output; a task's ATOL/RTOL override them.
DEFAULT_TOLERANCE: dict[torch.dtype, tuple[float, float]] = {
    torch.float32: (1e-4, 1e-4),
    torch.float16: (1e-2, 1e-2),
    torch.bfloat16: (1e-2, 1e-2),
    torch.float64: (1e-7, 1e-7),
}


def tolerance_for(dtype: torch.dtype, atol: float | None, rtol: float | None) -> tuple[float, float]:
    default_atol, default_rtol = DEFAULT_TOLERANCE.get(dtype, (0.0, 0.0))
    return (default_atol if atol is None else atol, default_rtol if rtol is None else rtol)


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
