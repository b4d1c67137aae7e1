"""Run a task's Python on the meta device, so shapes are read without allocating any memory.

KernelBench files often write `torch.randn(...).cuda()` or `device="cuda"`; on the meta device
those would either allocate on a GPU or fail on a machine without one. A torch-function mode
rewrites every device a task names to `meta` while it runs, and `.cuda()`/`.cpu()` become no-ops.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

_DEVICE_NOOP_METHODS = frozenset({torch.Tensor.cuda, torch.Tensor.cpu, torch.Tensor.pin_memory})


def _is_device_like(value: object) -> bool:
    if isinstance(value, torch.device):
        return True
    if isinstance(value, str):
        try:
            torch.device(value)
        except (RuntimeError, ValueError):
            return False
        return True
    # A bare int in Tensor.to(...) is a CUDA device index.
    return isinstance(value, int) and not isinstance(value, bool)


class _AllOnMeta(TorchFunctionMode):
    """Sends every explicit device to `meta`; the enclosing torch.device('meta') covers the rest."""

    def __torch_function__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> Any:
        kwargs = dict(kwargs or {})
        if func in _DEVICE_NOOP_METHODS:
            return args[0]
        if "device" in kwargs and kwargs["device"] is not None:
            kwargs["device"] = "meta"
        if func is torch.Tensor.to:
            args = tuple("meta" if i > 0 and _is_device_like(a) else a for i, a in enumerate(args))
        return func(*args, **kwargs)


@contextmanager
def on_meta_device() -> Iterator[None]:
    """Within this block, tensors a task creates are meta tensors, whatever device it asks for."""
    with torch.device("meta"), _AllOnMeta():
        yield


def is_meta_limitation(err: BaseException) -> bool:
    """True when an error comes from meta tensors having no data (not from the task being wrong)."""
    text = str(err).lower()
    return isinstance(err, NotImplementedError) or "meta" in text or "data-dependent" in text
