"""Nsight Compute: is it here, may it read counters, and running it on exactly the judged candidate.

Counter permission follows NVIDIA's ERR_NVGPUCTRPERM note
(developer.nvidia.com/nvidia-development-tools-solutions-ERR_NVGPUCTRPERM-permission-issue-performance-counters):
since driver 418.43 on Linux only admins (root, CAP_SYS_ADMIN, or CAP_PERFMON from R565) may read
the counters unless the module option NVreg_RestrictProfilingToAdminUsers=0 is set; the driver
shows the setting as `RmProfilingAdminOnly` in /proc/driver/nvidia/params.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

from pydantic import BaseModel, Field

PERMISSION_ERROR = "ERR_NVGPUCTRPERM"
ENABLE_COUNTERS_HINT = (
    "run as root or with CAP_SYS_ADMIN/CAP_PERFMON, or load the driver with "
    "`options nvidia NVreg_RestrictProfilingToAdminUsers=0` (modprobe.d) and reboot"
)
INSTALL_HINT = (
    "install Nsight Compute (the CUDA toolkit ships it) or put `ncu` on PATH / set KERNELWRIGHT_NCU"
)
DRIVER_PARAMS = Path("/proc/driver/nvidia/params")


class NcuStatus(BaseModel):
    """What the doctor and the profiler know about Nsight Compute before running it."""

    path: str | None = Field(None, description="Absolute path of the ncu executable, or None.")
    counters_readable: bool | None = Field(
        None, description="True/False from the driver's profiling setting; None when it cannot be told."
    )
    message: str = Field(description="One line: what works, or what is missing and how to enable it.")

    @property
    def usable(self) -> bool:
        return self.path is not None and self.counters_readable is not False


def find_ncu() -> str | None:
    """KERNELWRIGHT_NCU, then PATH, then the CUDA toolkit and standalone install locations."""
    explicit = os.environ.get("KERNELWRIGHT_NCU")
    if explicit:
        return explicit if os.access(explicit, os.X_OK) else None
    on_path = shutil.which("ncu")
    if on_path:
        return on_path
    roots = [os.environ.get("CUDA_HOME", ""), os.environ.get("CUDA_PATH", ""), "/usr/local/cuda"]
    candidates = [os.path.join(r, "bin", "ncu") for r in roots if r]
    candidates += sorted(glob.glob("/opt/nvidia/nsight-compute/*/ncu"), reverse=True)
    candidates += sorted(glob.glob("/usr/local/cuda-*/bin/ncu"), reverse=True)
    return next((c for c in candidates if os.access(c, os.X_OK)), None)


def counters_readable(params_text: str | None, *, is_admin: bool) -> bool | None:
    """Reads the driver's RmProfilingAdminOnly flag; None when there is no driver to ask."""
    if params_text is None:
        return None
    if is_admin:
        return True
    for line in params_text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "RmProfilingAdminOnly":
            return value.strip() == "0"
    return None


def _driver_params() -> str | None:
    try:
        return DRIVER_PARAMS.read_text()
    except OSError:
        return None


def ncu_status() -> NcuStatus:
    """Never raises: a missing tool or driver is an answer, not an error."""
    path = find_ncu()
    readable = counters_readable(_driver_params(), is_admin=os.geteuid() == 0)
    if path is None:
        message = f"Nsight Compute (ncu) not found: {INSTALL_HINT}."
    elif readable is False:
        message = f"ncu at {path}, but GPU performance counters are admin-only ({PERMISSION_ERROR}): {ENABLE_COUNTERS_HINT}."
    elif readable is None:
        message = f"ncu at {path}; counter permission unknown (no NVIDIA driver parameters readable)."
    else:
        message = f"ncu at {path}; GPU performance counters readable."
    return NcuStatus(path=path, counters_readable=readable, message=message)
