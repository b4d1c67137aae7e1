"""The cuda-python loader: cuda.bindings' driver API, arguments packed in C from (values, types)."""

from __future__ import annotations

from typing import Any

from kernelwright.sandbox.loaders.base import CudaLaunchError, Dim3, LoadedModule, missing_kernel
from kernelwright.sandbox.runner.kernel_params import PackedArgs


class _Module:
    def __init__(self, context: Any, module: Any) -> None:
        self.context = context
        self.module = module

    def function(self, symbol: str) -> Any:
        from cuda.bindings import driver

        err, function = driver.cuModuleGetFunction(self.module, symbol.encode())
        _check(err, missing_kernel(symbol))
        return function

    def allow_dynamic_shared(self, function: Any, nbytes: int) -> None:
        from cuda.bindings import driver

        attr = driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
        (err,) = driver.cuFuncSetAttribute(function, attr, nbytes)
        _check(err, f"cannot allow {nbytes} bytes of dynamic shared memory")

    def launch(
        self, function: Any, grid: Dim3, block: Dim3, shared_mem_bytes: int, stream: int, args: PackedArgs
    ) -> None:
        from cuda.bindings import driver

        _ensure_current(self.context)
        # (values, types): cuda-bindings fills the parameter block in C; no ctypes object, no
        # ctypes audit event (kernel_params chose the types it packs that way).
        params = (args.values, args.wire_types) if args.values else 0
        (err,) = driver.cuLaunchKernel(
            function, *grid, *block, shared_mem_bytes, driver.CUstream(stream), params, 0
        )
        _check(err, "the driver refused the launch")


class CudaPythonLoader:
    name = "cuda-python"

    def load(self, cubin: bytes, device: int) -> LoadedModule:
        from cuda.bindings import driver

        context = _torch_context(device)
        _ensure_current(context)
        err, module = driver.cuModuleLoadData(cubin)
        _check(err, "the driver could not load the compiled module")
        return _Module(context, module)


def _torch_context(device: int) -> Any:
    """Torch runs on the device's primary context; modules are loaded into, and launched from, it."""
    import torch
    from cuda.bindings import driver

    torch.cuda.init()
    (err,) = driver.cuInit(0)
    _check(err, "cuInit failed")
    err, dev = driver.cuDeviceGet(device)
    _check(err, "cuDeviceGet failed")
    err, ctx = driver.cuDevicePrimaryCtxRetain(dev)
    _check(err, "cuDevicePrimaryCtxRetain failed")
    return ctx


def _ensure_current(context: Any) -> None:
    """A thread that has made no CUDA runtime call yet has no current context; give it torch's."""
    from cuda.bindings import driver

    err, current = driver.cuCtxGetCurrent()
    if err == driver.CUresult.CUDA_SUCCESS and int(current) == int(context):
        return
    (err,) = driver.cuCtxSetCurrent(context)
    _check(err, "cuCtxSetCurrent failed")


def _check(err: Any, what: str) -> None:
    from cuda.bindings import driver

    if err != driver.CUresult.CUDA_SUCCESS:
        _, text = driver.cuGetErrorString(err)
        detail = text.decode() if isinstance(text, bytes) else str(err)
        raise CudaLaunchError(f"{what}: {detail}.")


LOADER = CudaPythonLoader()
