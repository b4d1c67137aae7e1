"""GPU identity through NVML (nvidia-ml-py). Every call here degrades to "nothing known" instead of
raising: the doctor, the profiler and the batch planner all ask on machines without a driver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from kernelwright.contracts import GPUIdentity

# NVML keeps a process-wide init count; a lock keeps our init/shutdown pairs from interleaving
# when the sampler thread and the caller open sessions at the same time.
_nvml_lock = threading.Lock()


def _pynvml() -> Any | None:
    try:
        import pynvml
    except ImportError:
        return None
    return pynvml


@contextmanager
def nvml_session() -> Iterator[Any | None]:
    """Yields the initialised pynvml module, or None when there is no library or no driver."""
    nvml = _pynvml()
    if nvml is None:
        yield None
        return
    with _nvml_lock:
        try:
            nvml.nvmlInit()
        except Exception:
            ok = False
        else:
            ok = True
    try:
        yield nvml if ok else None
    finally:
        if ok:
            with _nvml_lock, suppress(Exception):
                nvml.nvmlShutdown()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _try(fn: Any, *args: Any) -> Any | None:
    try:
        return fn(*args)
    except Exception:
        return None


def _cuda_version(nvml: Any) -> str | None:
    raw = _try(nvml.nvmlSystemGetCudaDriverVersion_v2) or _try(nvml.nvmlSystemGetCudaDriverVersion)
    if not raw:
        return None
    return f"{raw // 1000}.{(raw % 1000) // 10}"


def _sm_count(nvml: Any, handle: Any, name: str, cc: str | None) -> int | None:
    attrs = _try(nvml.nvmlDeviceGetAttributes_v2, handle) or _try(nvml.nvmlDeviceGetAttributes, handle)
    count = getattr(attrs, "multiprocessorCount", None) if attrs is not None else None
    if count:
        return int(count)
    # Not every NVML build reports SM counts outside MIG; the spec table knows the common parts.
    from kernelwright.gpu.specs import lookup_spec

    spec = lookup_spec(name)
    return spec.sm_count if spec is not None else None


def identity_of(nvml: Any, index: int) -> GPUIdentity | None:
    """The identity of GPU `index` in an open NVML session, or None if NVML cannot describe it."""
    handle = _try(nvml.nvmlDeviceGetHandleByIndex, index)
    if handle is None:
        return None
    name = _text(_try(nvml.nvmlDeviceGetName, handle) or "unknown NVIDIA GPU")
    cc_pair = _try(nvml.nvmlDeviceGetCudaComputeCapability, handle)
    cc = f"{cc_pair[0]}.{cc_pair[1]}" if cc_pair else None
    mem = _try(nvml.nvmlDeviceGetMemoryInfo, handle)
    uuid = _try(nvml.nvmlDeviceGetUUID, handle)
    driver = _try(nvml.nvmlSystemGetDriverVersion)
    return GPUIdentity(
        name=name,
        uuid=_text(uuid) if uuid is not None else None,
        driver=_text(driver) if driver is not None else None,
        cuda_version=_cuda_version(nvml),
        sm_count=_sm_count(nvml, handle, name, cc),
        memory_mib=int(mem.total // (1024 * 1024)) if mem is not None else None,
        compute_capability=cc,
    )


def list_gpus() -> list[GPUIdentity]:
    """All GPUs NVML sees, in NVML index order; [] (never an exception) without a driver."""
    with nvml_session() as nvml:
        if nvml is None:
            return []
        count = _try(nvml.nvmlDeviceGetCount) or 0
        found = [identity_of(nvml, i) for i in range(count)]
    return [g for g in found if g is not None]


def gpu_identity(index: int = 0) -> GPUIdentity | None:
    """The identity of one GPU, or None when NVML cannot be used."""
    with nvml_session() as nvml:
        return identity_of(nvml, index) if nvml is not None else None
