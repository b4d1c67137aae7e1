"""The launch rule (GPU): during forward, the candidate's own kernels must actually run and take most of
its GPU time; a cuBLAS/cuDNN/ATen compute kernel doing the work is a rejection.

A pure function of (kernel name, duration) events, which the runner records with torch.profiler. Those
events come from the candidate's process: a rejection they cause is believed, a pass is only as good
as the static guard's ATen and no-kernel rules beside it. An empty event list is no evidence at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from kernelwright.contracts import Status
from kernelwright.sandbox.failures import CheckFailed

# Data movement and allocation-time kernels (empty/zeros/contiguous/cat glue): neither the
# candidate's work nor a library doing it for them.
GLUE_PATTERNS = re.compile(
    r"^(Memcpy|Memset|memcpy|memset)|\bFillFunctor\b|\bfill_kernel|copy_kernel|CatArrayBatchedCopy"
    r"|direct_copy_kernel|elementwise_kernel_with_index|\bcopy_device_to_device\b",
)
# Library compute kernels by their documented name stems (cuBLAS, cuBLASLt, CUTLASS, cuDNN, ATen).
LIBRARY_PATTERNS = re.compile(
    r"gemm|gemv|sgemm|hgemm|cublas|cutlass|cudnn|xmma|implicit_convolve|winograd|fft|"
    r"at::native::|\bat_cuda_detail\b|flash_fwd|fmha|triton_",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class KernelEvent:
    """One GPU kernel execution as the profiler saw it."""

    name: str
    duration_us: float


@dataclass
class LaunchReport:
    own_us: float
    library_us: float
    glue_us: float
    own_launched: list[str]
    top_library: str | None

    @property
    def own_fraction(self) -> float:
        work = self.own_us + self.library_us
        return self.own_us / work if work > 0 else 0.0


def is_own_kernel(event_name: str, own_names: Sequence[str]) -> bool:
    """Matches extern "C" names, demangled C++ signatures ('void k<...>(float*)') and mangled ones."""
    for name in own_names:
        if not name:
            continue
        if event_name == name or event_name.startswith(
            (f"{name}(", f"{name}<", f"void {name}(", f"void {name}<")
        ):
            return True
        if event_name.startswith(f"_Z{len(name)}{name}"):
            return True
    return False


def classify(events: Sequence[KernelEvent], own_names: Sequence[str]) -> LaunchReport:
    own_us = library_us = glue_us = 0.0
    own_launched: list[str] = []
    library_time: dict[str, float] = {}
    for event in events:
        if is_own_kernel(event.name, own_names):
            own_us += event.duration_us
            if event.name not in own_launched:
                own_launched.append(event.name)
        elif GLUE_PATTERNS.search(event.name):
            glue_us += event.duration_us
        else:
            # Anything neither ours nor glue does work the candidate did not write: library or ATen.
            library_us += event.duration_us
            library_time[event.name] = library_time.get(event.name, 0.0) + event.duration_us
    top = max(library_time, key=library_time.__getitem__) if library_time else None
    return LaunchReport(own_us, library_us, glue_us, own_launched, top)


def judge_launches(
    events: Sequence[KernelEvent], own_names: Sequence[str], min_own_fraction: float
) -> str | None:
    """Raises CheckFailed (rejected) when no own kernel ran or library kernels did most of the work;
    returns a note when the profiler recorded no GPU activity at all (CUPTI unavailable)."""
    if not any(own_names):
        # Nothing to tell the candidate's launches from a library's: passing would be vacuous.
        raise CheckFailed(
            Status.rejected,
            "no-custom-kernel",
            "no kernel of the candidate could be named: neither the static compile nor the source "
            "declares a __global__ function by name (write each kernel's name out, not through a macro)",
        )
    if not events:
        return "launch check skipped: the profiler recorded no GPU kernels at all (CUPTI unavailable?)"
    report = classify(events, own_names)
    if not report.own_launched:
        library = f"; GPU time went to {report.top_library}" if report.top_library else ""
        raise CheckFailed(
            Status.rejected,
            "no-custom-kernel",
            f"none of the candidate's kernels ({', '.join(own_names) or 'none found'}) ran "
            f"during forward{library}",
        )
    if report.own_fraction < min_own_fraction:
        kind = "library" if report.top_library and LIBRARY_PATTERNS.search(report.top_library) else "PyTorch"
        raise CheckFailed(
            Status.rejected,
            "library-kernel",
            f"{kind} kernel {report.top_library} did most of the work: the candidate's own kernels "
            f"took {report.own_fraction:.0%} of the GPU time (at least {min_own_fraction:.0%} needed)",
        )
    return None
