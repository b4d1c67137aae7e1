"""What a loader does: load a cubin into torch's context on one GPU, and launch its kernels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from kernelwright.sandbox.runner.kernel_params import PackedArgs

Dim3 = tuple[int, int, int]


class CudaLaunchError(RuntimeError):
    """The driver refused a load or launch (bad name, bad launch configuration...)."""


class LoadedModule(Protocol):
    """One cubin loaded on one GPU."""

    def function(self, symbol: str) -> Any:
        """The kernel with this (mangled) name; CudaLaunchError when the cubin lacks it."""
        ...

    def allow_dynamic_shared(self, function: Any, nbytes: int) -> None:
        """Opt the kernel in to more than 48 KiB of dynamic shared memory."""
        ...

    def launch(
        self, function: Any, grid: Dim3, block: Dim3, shared_mem_bytes: int, stream: int, args: PackedArgs
    ) -> None:
        """Launches asynchronously on the CUDA stream whose handle is `stream`."""
        ...


class Loader(Protocol):
    name: str

    def load(self, cubin: bytes, device: int) -> LoadedModule:
        """Loads `cubin` into torch's (primary) context of GPU `device`."""
        ...


def missing_kernel(symbol: str) -> str:
    return f"kernel '{symbol}' is not in the compiled module (a template needs an instantiation)"


def checked(call: Callable[[], Any], what: str) -> Any:
    """Runs a library call, turning its own error type into one CudaLaunchError sentence."""
    try:
        return call()
    except CudaLaunchError:
        raise
    except Exception as exc:
        raise CudaLaunchError(f"{what}: {str(exc).strip() or type(exc).__name__}.") from exc
