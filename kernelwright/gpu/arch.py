"""Which architecture kernelwright compiles for on a GPU of a given compute capability.

Hopper (9.0) and Blackwell (10.0) get their architecture-specific targets (`sm_90a`, `sm_100a`):
wgmma, TMA and tcgen05 instructions only build for those, and a cubin for them runs only on that
exact architecture, which is the GPU in hand. Everything else gets the plain `sm_XY`.
"""

from __future__ import annotations

ARCH_SPECIFIC = {(9, 0): "sm_90a", (10, 0): "sm_100a"}


def arch_for(major: int, minor: int) -> str:
    return ARCH_SPECIFIC.get((major, minor), f"sm_{major}{minor}")


def arch_for_capability(capability: str) -> str:
    """'9.0' -> 'sm_90a', '8.6' -> 'sm_86'."""
    major, _, minor = capability.partition(".")
    return arch_for(int(major), int(minor or 0))
