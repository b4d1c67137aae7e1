"""The native candidate runtime: CUDA C++ compiled by NVRTC, launched on torch tensors.

    self.kernels = CudaModule(CUDA_SOURCE)
    self.kernels.launch("relu_kernel", grid=(blocks,), block=(256,), args=(x, y, n))

Compiles lazily on the first launch for the current GPU's arch (through the disk cache), loads the
cubin into torch's own (primary) context with the process's loader (cuda-python, cupy or pycuda,
fixed by the runner before the candidate is imported: kernelwright.sandbox.loaders), and launches
on torch's current stream, so torch's stream semantics and the sandbox's device-wide timing both
hold. This module is imported inside the sandbox worker, next to the candidate; the CLI process
only compiles.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

from kernelwright.gpu.arch import arch_for
from kernelwright.sandbox.build.compile import CompileConfig, CompileResult, compile_cuda
from kernelwright.sandbox.loaders.base import CudaLaunchError, LoadedModule
from kernelwright.sandbox.loaders.selection import selected_loader
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


class CudaModule:
    """CUDA C++ source compiled on first use and launched on torch tensors."""

    def __init__(self, source: str, options: Sequence[str] = ()) -> None:
        self.source = source
        self.options = tuple(options)
        self.params: dict[str, list[KernelParam]] = parse_kernel_params(source)
        self._compiled: dict[str, CompileResult] = {}
        self._loaded: dict[int, tuple[LoadedModule, dict[str, Any]]] = {}
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
        module, function = self._function(device, name)
        if shared_mem_bytes > _DEFAULT_DYNAMIC_SMEM_LIMIT:
            module.allow_dynamic_shared(function, shared_mem_bytes)
        stream = torch.cuda.current_stream(device).cuda_stream
        try:
            module.launch(function, grid3, block3, shared_mem_bytes, stream, packed)
        except CudaLaunchError as exc:
            raise CudaLaunchError(
                f"launch of kernel '{name}' with grid={grid3} block={block3} shared={shared_mem_bytes} "
                f"failed: {exc}"
            ) from None

    def _function(self, device: int, name: str) -> tuple[LoadedModule, Any]:
        with self._lock:
            if device not in self._loaded:
                cubin = self.compile(_device_arch(device)).cubin
                if cubin is None:
                    raise CudaCompileError(f"the compile for {_device_arch(device)} produced no cubin.")
                self._loaded[device] = (selected_loader().load(cubin, device), {})
            module, functions = self._loaded[device]
            if name not in functions:
                symbol = self._compiled[_device_arch(device)].symbols.get(name, name)
                functions[name] = module.function(symbol)
            return module, functions[name]


def _device_arch(device: int) -> str:
    import torch

    major, minor = torch.cuda.get_device_capability(device)
    # The same target the parent compiled (and cached) for this GPU: sm_90a on Hopper.
    return arch_for(major, minor)


def _dim3(dims: Sequence[int], what: str, kernel: str) -> tuple[int, int, int]:
    values = list(dims) if isinstance(dims, Sequence) else [dims]
    if not 1 <= len(values) <= 3 or not all(isinstance(v, int) and v >= 1 for v in values):
        raise KernelArgumentError(f"{what} of kernel '{kernel}' must be 1 to 3 positive ints, got {dims!r}.")
    padded = (values + [1, 1, 1])[:3]
    return padded[0], padded[1], padded[2]
