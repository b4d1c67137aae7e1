"""Short GPU names for tables and charts: NVML's 'NVIDIA H100 80GB HBM3' is 'H100 80GB' there."""

from __future__ import annotations

import re
from collections.abc import Iterable

_PREFIXES = ("NVIDIA ", "GeForce ")
# Memory technology says nothing a reader needs to tell GPUs apart; form factors (PCIe, SXM) do.
_MEMORY_WORDS = {"HBM2", "HBM2e", "HBM3", "HBM3e", "GDDR6", "GDDR6X", "GDDR7"}


def short_gpu_name(name: str) -> str:
    """'NVIDIA H100 80GB HBM3' -> 'H100 80GB', 'NVIDIA GeForce RTX 4090' -> 'RTX 4090'."""
    short = name
    for prefix in _PREFIXES:
        short = short.removeprefix(prefix)
    words = [w for w in short.split() if w not in _MEMORY_WORDS]
    return " ".join(words) or name


def compact_gpu_name(name: str) -> str:
    """The short name up to its first word with a digit: 'A100-SXM4-80GB' -> 'A100', 'RTX 4090'."""
    words = re.split(r"[ -]", short_gpu_name(name))
    end = next((i for i, w in enumerate(words) if any(c.isdigit() for c in w)), len(words) - 1)
    return " ".join(words[: end + 1])


def short_gpu_names(names: Iterable[str], *, compact: bool = False) -> dict[str, str]:
    """Each name's short (or compact, for chart labels) form; where two names would read alike, the
    next longer form is used for them (compact, then short, then the full name)."""
    unique = sorted(set(names))
    chosen: dict[str, str] = {}
    forms = (compact_gpu_name, short_gpu_name) if compact else (short_gpu_name,)
    for form in forms:
        left = [n for n in unique if n not in chosen]
        candidates = {n: form(n) for n in left}
        others = [form(n) for n in unique if n in chosen] + list(candidates.values())
        chosen |= {n: c for n, c in candidates.items() if others.count(c) == 1}
    return {n: chosen.get(n, n) for n in unique}
