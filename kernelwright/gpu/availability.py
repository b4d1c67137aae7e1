"""Whether this machine can run candidates on an NVIDIA GPU, asked in one place; the commands that
need one say so in one sentence through `require_gpu`."""

from __future__ import annotations

from functools import cache

from kernelwright.errors import NoGPUError
from kernelwright.gpu.nvml import list_gpus


@cache
def gpu_available() -> bool:
    """True when NVML sees an NVIDIA GPU and torch was built with CUDA. Reads NVML and torch's build
    info only, so CUDA is never initialised in the calling (CLI) process."""
    if not list_gpus():
        return False
    try:
        import torch
    except ImportError:
        return False
    return torch.version.cuda is not None


def require_gpu(purpose: str, instead: str) -> None:
    """Raises NoGPUError unless a GPU is usable: "`purpose` needs an NVIDIA GPU and none is usable
    here; `instead`." (what the user can do without one)."""
    if not gpu_available():
        raise NoGPUError(f"{purpose} needs an NVIDIA GPU and none is usable here; {instead}.")
