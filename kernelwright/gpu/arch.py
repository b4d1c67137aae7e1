"""Which architecture kernelwright compiles for on a GPU of a given compute capability.

Hopper (9.0) and Blackwell (10.0) get their architecture-specific targets (`sm_90a`, `sm_100a`):
wgmma, TMA and tcgen05 instructions only build for those, and a cubin for them runs only on that
exact architecture, which is the GPU in hand. Everything else gets the plain `sm_XY`.
"""

from __future__ import annotations

import re

from kernelwright.errors import ConfigError

ARCH_SPECIFIC = {(9, 0): "sm_90a", (10, 0): "sm_100a"}


def arch_for(major: int, minor: int) -> str:
    return ARCH_SPECIFIC.get((major, minor), f"sm_{major}{minor}")


def arch_for_capability(capability: str) -> str:
    """'9.0' -> 'sm_90a', '8.6' -> 'sm_86'."""
    major, _, minor = capability.partition(".")
    return arch_for(int(major), int(minor or 0))


# Compute capabilities NVRTC and nvcc build for (CUDA 12.x-13.x); anything else is a typo, which is
# a usage error to report before a compiler is started, not a compile error of the candidate.
KNOWN_ARCHS = (50, 52, 53, 60, 61, 62, 70, 72, 75, 80, 86, 87, 89, 90, 100, 101, 103, 110, 120, 121)
_ARCH = re.compile(r"sm_(\d{2,3})([af]?)")


def check_arch(arch: str, flag: str = "--arch") -> str:
    """`arch` when it names a real architecture ('sm_90', 'sm_90a', 'sm_100f'); else a ConfigError."""
    match = _ARCH.fullmatch(arch)
    if match is None or int(match.group(1)) not in KNOWN_ARCHS:
        known = ", ".join(f"sm_{n}" for n in KNOWN_ARCHS)
        raise ConfigError(f"{flag} '{arch}' is not a GPU architecture (one of {known}, optionally with 'a').")
    return arch
