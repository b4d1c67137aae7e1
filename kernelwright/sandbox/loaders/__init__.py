"""Loaders: the library that loads a native candidate's NVRTC cubin and launches its kernels.

All three take the same cubin (compiled once by NVRTC through the disk cache), load it into torch's
primary context and launch on torch's current stream, so the verdict does not depend on the choice:

    cuda-python  cuda.bindings.driver: cuModuleLoadData + cuLaunchKernel (the default)
    cupy         cupy.cuda.function.Module.load (what cupy.RawModule wraps) + Function.__call__
    pycuda       pycuda.driver.module_from_buffer + Function._launch_kernel

The runner selects one (`WorkerJob.loader`) before the candidate is imported. Only the name of the
loader lives here; each implementation imports its library on first use, so this package imports
on machines without any of them.
"""

from __future__ import annotations

import importlib
import importlib.util

from kernelwright.errors import ConfigError
from kernelwright.sandbox.loaders.base import LoadedModule, Loader

__all__ = [
    "DEFAULT_LOADER",
    "LOADER_NAMES",
    "LoadedModule",
    "Loader",
    "installed_loaders",
    "loader_for",
    "missing_reason",
    "require_loader",
]

LOADER_NAMES: tuple[str, ...] = ("cuda-python", "cupy", "pycuda")
DEFAULT_LOADER = "cuda-python"

# name -> (module that must import, pip requirement to suggest, implementation module)
_LIBRARIES: dict[str, tuple[str, str, str]] = {
    "cuda-python": ("cuda.bindings.driver", "cuda-python", "kernelwright.sandbox.loaders.cuda_python"),
    "cupy": ("cupy", "cupy-cuda13x", "kernelwright.sandbox.loaders.cupy_loader"),
    "pycuda": ("pycuda.driver", "pycuda", "kernelwright.sandbox.loaders.pycuda_loader"),
}


def missing_reason(name: str) -> str | None:
    """One sentence why loader `name` is unusable here, None when its library imports."""
    if name not in _LIBRARIES:
        return f"unknown loader '{name}' (choose one of {', '.join(LOADER_NAMES)})."
    module, requirement, _ = _LIBRARIES[name]
    if not _found(module):
        return f"loader '{name}' needs {requirement}, which is not installed (pip install {requirement})."
    try:
        importlib.import_module(module)
    except Exception as exc:  # a broken build raises anything from ImportError to OSError
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return f"loader '{name}' is installed but {module} does not import: {first}."
    return None


def _found(module: str) -> bool:
    """Whether `module` is installed (its parents are imported to look, never the module itself)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package is missing (the `cuda` namespace without cuda.bindings)
        return False


def installed_loaders() -> list[str]:
    """The loaders whose library imports in this environment, in LOADER_NAMES order."""
    return [name for name in LOADER_NAMES if missing_reason(name) is None]


def require_loader(name: str) -> None:
    """ConfigError with one sentence when loader `name` is unknown or cannot be used here."""
    reason = missing_reason(name)
    if reason is not None:
        raise ConfigError(reason[:1].upper() + reason[1:])


def loader_for(name: str) -> Loader:
    """The loader called `name`; ConfigError with one sentence when it is unknown or not installed."""
    require_loader(name)
    implementation = importlib.import_module(_LIBRARIES[name][2])
    loader: Loader = implementation.LOADER
    return loader
