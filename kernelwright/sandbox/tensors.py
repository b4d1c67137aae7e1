"""Small tensor facts both the judge and the runner need: equality with NaNs, storage extents, sizes,
and a byte digest. No policy lives here."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import torch


def same_values(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Bitwise-equal values with NaN equal to NaN."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.is_floating_point() or a.is_complex():
        return bool(torch.equal(a.nan_to_num(0.0), b.nan_to_num(0.0)) and torch.equal(a.isnan(), b.isnan()))
    return bool(torch.equal(a, b))


def storage_range(t: torch.Tensor) -> tuple[int, int]:
    storage = t.untyped_storage()
    start = storage.data_ptr()
    return start, start + storage.nbytes()


def clone_values(values: Sequence[Any]) -> list[Any]:
    return [x.clone() if isinstance(x, torch.Tensor) else x for x in values]


def tensor_bytes(values: Sequence[Any]) -> int:
    return sum(v.numel() * v.element_size() for v in values if isinstance(v, torch.Tensor))


def digest(values: Sequence[Any]) -> str:
    """A hash of the values' shapes, dtypes and bytes: equal digests mean bitwise-equal inputs."""
    h = hashlib.blake2b(digest_size=16)
    for v in values:
        if isinstance(v, torch.Tensor):
            flat = v.detach().contiguous().reshape(-1).cpu()
            h.update(f"{v.dtype}{tuple(v.shape)}".encode())
            h.update(flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b"")
        else:
            h.update(repr(v).encode())
    return h.hexdigest()
