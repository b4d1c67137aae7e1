"""The pycuda loader: pycuda.driver.module_from_buffer and Function._launch_kernel.

pycuda launches from one packed parameter block (CU_LAUNCH_PARAM_BUFFER_POINTER), which
PackedArgs.buffer() lays out with C alignment. pycuda can only name a stream it created itself, so
it launches on torch's default stream (handle 0, where the sandbox runs and times candidates) and
refuses any other stream rather than launch somewhere torch does not order against.
"""

from __future__ import annotations

import threading
from typing import Any

from kernelwright.sandbox.loaders.base import CudaLaunchError, Dim3, LoadedModule, checked, missing_kernel
from kernelwright.sandbox.runner.kernel_params import PackedArgs

_pushed = threading.local()


class _Module:
    def __init__(self, module: Any) -> None:
        self.module = module

    def function(self, symbol: str) -> Any:
        return checked(lambda: self.module.get_function(symbol), missing_kernel(symbol))

    def allow_dynamic_shared(self, function: Any, nbytes: int) -> None:
        import pycuda.driver as drv

        attr = drv.function_attribute.MAX_DYNAMIC_SHARED_SIZE_BYTES
        checked(
            lambda: function.set_attribute(attr, nbytes),
            f"cannot allow {nbytes} bytes of dynamic shared memory",
        )

    def launch(
        self, function: Any, grid: Dim3, block: Dim3, shared_mem_bytes: int, stream: int, args: PackedArgs
    ) -> None:
        if stream != 0:
            raise CudaLaunchError(
                "the pycuda loader launches only on torch's default stream (pycuda cannot use a stream "
                "it did not create); use --loader cuda-python or cupy for code that switches streams."
            )
        buffer = args.buffer()
        checked(
            lambda: function._launch_kernel(grid, block, buffer, shared_mem_bytes, None),
            "the driver refused the launch",
        )


class PycudaLoader:
    name = "pycuda"

    def load(self, cubin: bytes, device: int) -> LoadedModule:
        import pycuda.driver as drv
        import torch

        torch.cuda.init()

        def load() -> Any:
            drv.init()
            # pycuda refuses to make objects without a context on its own stack; push torch's
            # primary context there once per thread, as pycuda.autoprimaryctx does.
            devices: set[int] = getattr(_pushed, "devices", set())
            if device not in devices:
                drv.Device(device).retain_primary_context().push()
                _pushed.devices = devices | {device}
            return drv.module_from_buffer(cubin)

        return _Module(checked(load, "pycuda could not load the compiled module"))


LOADER = PycudaLoader()
