"""The native candidate runtime: CUDA C++ compiled by NVRTC, launched on torch tensors.

    self.kernels = CudaModule(CUDA_SOURCE)
    self.kernels.launch("relu_kernel", grid=(blocks,), block=(256,), args=(x, y, n))

Compiles lazily on the first launch for the current GPU's arch (through the disk cache), loads the
cubin with the driver API into torch's own (primary) context, and launches on torch's current
stream, so torch's stream semantics and the sandbox's device-wide timing both hold. This module is
imported inside the sandbox worker, next to the candidate; the CLI process only compiles.
"""

from __future__ import annotations

import ctypes
import threading
from collections.abc import Sequence
from typing import Any

from kernelwright.gpu.arch import arch_for
from kernelwright.sandbox.build.compile import CompileConfig, CompileResult, compile_cuda
from kernelwright.sandbox.runner.kernel_params import (
    KernelArgumentError,
    KernelParam,
    pack_args,
    parse_kernel_params,
)

__all__ = ["CudaCompileError", "CudaLaunchError", "CudaModule", "KernelArgumentError"]

_DEFAULT_DYNAMIC_SMEM_LIMIT = 48 * 1024


class CudaCompileError(RuntimeError):
    """The module's source did not compile; the message holds the trimmed compiler log."""


class CudaLaunchError(RuntimeError):
    """The driver refused a load or launch (bad name, bad launch configuration...)."""


class CudaModule:
    """CUDA C++ source compiled on first use and launched on torch tensors."""

    def __init__(self, source: str, options: Sequence[str] = ()) -> None:
        self.source = source
        self.options = tuple(options)
        self.params: dict[str, list[KernelParam]] = parse_kernel_params(source)
        self._compiled: dict[str, CompileResult] = {}
        self._loaded: dict[int, tuple[Any, Any, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def compile(self, arch: str) -> CompileResult:
        """The compile result for `arch` (cached); raises CudaCompileError when it fails."""
        if arch not in self._compiled:
            # The worker running the candidate is the isolation: no fork inside it.
            result = compile_cuda(self.source, arch, self.options, config=CompileConfig(isolate=False))
            if not result.ok:
                raise CudaCompileError(f"CUDA source failed to compile for {arch}:\n{result.log}")
            self._compiled[arch] = result
        return self._compiled[arch]

    def launch(
        self,
        name: str,
        grid: Sequence[int],
        block: Sequence[int],
        args: Sequence[Any],
        shared_mem_bytes: int = 0,
    ) -> None:
        """Launches kernel `name` on torch's current CUDA stream; returns without synchronising."""
        import torch

        params = self.params.get(name)
        if params is None:
            known = ", ".join(sorted(self.params)) or "none"
            raise KernelArgumentError(f"no __global__ function '{name}' in this module (kernels: {known}).")
        packed = pack_args(name, params, tuple(args), device_type="cuda")
        grid3, block3 = _dim3(grid, "grid", name), _dim3(block, "block", name)
        device = torch.cuda.current_device()
        context, function = self._function(device, name)
        _ensure_current(context)
        if shared_mem_bytes > _DEFAULT_DYNAMIC_SMEM_LIMIT:
            _opt_in_shared_memory(function, shared_mem_bytes)
        pointers = (ctypes.c_void_p * max(len(packed), 1))(*[ctypes.addressof(v) for v in packed])
        stream = torch.cuda.current_stream(device).cuda_stream
        _launch(function, grid3, block3, shared_mem_bytes, stream, ctypes.addressof(pointers), name)

    def _function(self, device: int, name: str) -> tuple[Any, Any]:
        with self._lock:
            if device not in self._loaded:
                self._loaded[device] = (*self._load_module(device), {})
            context, module, functions = self._loaded[device]
            if name not in functions:
                result = self._compiled[_device_arch(device)]
                symbol = result.symbols.get(name, name)
                from cuda.bindings import driver

                err, function = driver.cuModuleGetFunction(module, symbol.encode())
                _check(
                    err, f"kernel '{name}' is not in the compiled module (a template needs an instantiation)"
                )
                functions[name] = function
            return context, functions[name]

    def _load_module(self, device: int) -> tuple[Any, Any]:
        from cuda.bindings import driver

        result = self.compile(_device_arch(device))
        context = _torch_context(device)
        _ensure_current(context)
        err, module = driver.cuModuleLoadData(result.cubin)
        _check(err, "the driver could not load the compiled module")
        return context, module


def _device_arch(device: int) -> str:
    import torch

    major, minor = torch.cuda.get_device_capability(device)
    # The same target the parent compiled (and cached) for this GPU: sm_90a on Hopper.
    return arch_for(major, minor)


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


def _opt_in_shared_memory(function: Any, nbytes: int) -> None:
    from cuda.bindings import driver

    attr = driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
    (err,) = driver.cuFuncSetAttribute(function, attr, nbytes)
    _check(err, f"cannot allow {nbytes} bytes of dynamic shared memory")


def _launch(
    function: Any,
    grid: tuple[int, int, int],
    block: tuple[int, int, int],
    smem: int,
    stream: int,
    params_address: int,
    name: str,
) -> None:
    from cuda.bindings import driver

    (err,) = driver.cuLaunchKernel(function, *grid, *block, smem, driver.CUstream(stream), params_address, 0)
    _check(err, f"launch of kernel '{name}' with grid={grid} block={block} shared={smem} failed")


def _dim3(dims: Sequence[int], what: str, kernel: str) -> tuple[int, int, int]:
    values = list(dims) if isinstance(dims, Sequence) else [dims]
    if not 1 <= len(values) <= 3 or not all(isinstance(v, int) and v >= 1 for v in values):
        raise KernelArgumentError(f"{what} of kernel '{kernel}' must be 1 to 3 positive ints, got {dims!r}.")
    padded = (values + [1, 1, 1])[:3]
    return padded[0], padded[1], padded[2]


def _check(err: Any, what: str) -> None:
    from cuda.bindings import driver

    if err != driver.CUresult.CUDA_SUCCESS:
        _, text = driver.cuGetErrorString(err)
        detail = text.decode() if isinstance(text, bytes) else str(err)
        raise CudaLaunchError(f"{what}: {detail}.")
