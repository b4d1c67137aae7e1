"""Times one call the same way in the judge (the reference) and in the runner (the candidate): flush
L2, synchronise the whole device (side streams count), clock, call, synchronise, clock.

The clock and the synchronise are bound at import time, in the fork server, before any candidate code
exists, so replacing time.perf_counter or torch.cuda.synchronize later changes nothing here.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter as _clock
from typing import Any

import torch

_synchronize = torch.cuda.synchronize
# Used when the device does not report its L2 size.
FALLBACK_L2_BYTES = 64 << 20


def clock() -> float:
    return _clock()


def l2_flush_buffer(device: torch.device) -> torch.Tensor | None:
    """A buffer twice the L2 size; writing it before a call evicts whatever the last call left."""
    if device.type != "cuda":
        return None
    l2 = getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 0) or FALLBACK_L2_BYTES
    return torch.empty(2 * l2 // 4, dtype=torch.float32, device=device)


class Timer:
    """One timed call: flush L2, synchronise the device, clock, call, synchronise, clock."""

    def __init__(self, device: torch.device):
        self.device = device
        self.flush = l2_flush_buffer(device)

    def sync(self) -> None:
        if self.device.type == "cuda":
            _synchronize()

    def __call__(self, fn: Callable[..., Any], args: list[Any]) -> tuple[float, Any]:
        if self.flush is not None:
            self.flush.zero_()
        self.sync()
        start = _clock()
        with torch.no_grad():
            out = fn(*args)
        self.sync()
        return (_clock() - start) * 1e3, out
