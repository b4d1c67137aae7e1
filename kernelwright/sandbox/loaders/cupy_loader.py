"""The cupy loader: cupy.cuda.Module.load (what cupy.RawModule wraps) and Function.__call__."""

from __future__ import annotations

from typing import Any

from kernelwright.sandbox.loaders.base import Dim3, LoadedModule, checked, missing_kernel
from kernelwright.sandbox.runner.kernel_params import PackedArgs

# cupy passes a numpy scalar by its dtype's size, so each argument becomes the numpy type of its
# declared width; a pointer is an unsigned 64-bit address.
_NUMPY_TYPES = {
    "?": "bool_",
    "b": "int8",
    "h": "int16",
    "i": "int32",
    "q": "int64",
    "f": "float32",
    "d": "float64",
    "P": "uint64",
}


class _Module:
    def __init__(self, device: int, module: Any) -> None:
        self.device = device
        self.module = module

    def function(self, symbol: str) -> Any:
        return checked(lambda: self.module.get_function(symbol), missing_kernel(symbol))

    def allow_dynamic_shared(self, function: Any, nbytes: int) -> None:
        from cupy.cuda import driver

        attr = driver.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
        checked(
            lambda: driver.funcSetAttribute(function.ptr, attr, nbytes),
            f"cannot allow {nbytes} bytes of dynamic shared memory",
        )

    def launch(
        self, function: Any, grid: Dim3, block: Dim3, shared_mem_bytes: int, stream: int, args: PackedArgs
    ) -> None:
        import cupy
        import numpy

        values = tuple(
            getattr(numpy, _NUMPY_TYPES[f])(v) for f, v in zip(args.formats, args.values, strict=True)
        )

        def call() -> None:
            # cudaSetDevice makes the device's primary context (torch's) current on this thread,
            # which a thread that has made no CUDA call yet lacks; cupy's Device() may skip it.
            cupy.cuda.runtime.setDevice(self.device)
            function(
                grid, block, values, shared_mem=shared_mem_bytes, stream=cupy.cuda.ExternalStream(stream)
            )

        checked(call, "the driver refused the launch")


class CupyLoader:
    name = "cupy"

    def load(self, cubin: bytes, device: int) -> LoadedModule:
        import cupy
        import torch

        torch.cuda.init()  # torch's primary context is the one cupy's runtime calls use

        def load() -> Any:
            cupy.cuda.runtime.setDevice(device)
            module = cupy.cuda.Module()
            module.load(cubin)
            return module

        return _Module(device, checked(load, "cupy could not load the compiled module"))


LOADER = CupyLoader()
