"""What the judge takes from the runner's replies, after checking it: outputs (read only once their
count, shapes and dtypes match the reference's) and self-measured call times."""

from __future__ import annotations

import math
from typing import Any

import torch

from kernelwright.contracts import Status
from kernelwright.sandbox.failures import CheckFailed
from kernelwright.sandbox.judge.link import violation
from kernelwright.sandbox.wire import TensorRef, dtype_of, parse_values, read_tensor


def read_outputs(
    items: Any, expected: list[torch.Tensor], what: str, exchange: str, device: torch.device
) -> list[torch.Tensor]:
    """The candidate's outputs; a runner cannot make the judge map more memory than the right
    answer takes, since nothing is read before its description matches the reference's."""
    refs = parse_values(items)
    if not refs or not all(isinstance(r, TensorRef) for r in refs):
        raise violation(what, "outputs that are not tensors")
    if len(refs) != len(expected):
        raise CheckFailed(Status.incorrect, "output-count", f"{len(refs)} outputs instead of {len(expected)}")
    for ref, want in zip(refs, expected, strict=True):
        got = (tuple(ref.shape), dtype_of(ref))
        if got != (tuple(want.shape), want.dtype):
            raise CheckFailed(
                Status.incorrect,
                "shape-mismatch",
                f"{what}: {got[0]} {got[1]} instead of {tuple(want.shape)} {want.dtype}",
            )
        if ref.nbytes != want.numel() * want.element_size():
            raise violation(what, "an output whose file does not hold exactly its elements")
    return [read_tensor(ref, exchange, device) for ref in refs]


def call_ms(payload: dict[str, Any], what: str) -> float:
    """The runner's own time for one call, which must at least be a non-negative number."""
    ms = payload.get("ms")
    if not isinstance(ms, int | float) or isinstance(ms, bool) or not math.isfinite(ms) or ms < 0:
        raise violation(what, "a call time that is not a non-negative number")
    return float(ms)
