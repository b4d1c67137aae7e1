"""GPU identity and ncu availability on a machine that may have neither: answers, never exceptions."""

from __future__ import annotations

import os
import stat

import pytest

from kernelwright.contracts import GPUIdentity
from kernelwright.gpu import nvml
from kernelwright.profiler import ncu

# The layout of /proc/driver/nvidia/params as the Linux driver prints it ("Name: value" lines);
# written from NVIDIA's ERR_NVGPUCTRPERM note, not captured from a machine.
PARAMS_ADMIN_ONLY = "ResmanDebugLevel: 4294967295\nRmProfilingAdminOnly: 1\nEnableMSI: 1\n"
PARAMS_OPEN = "ResmanDebugLevel: 4294967295\nRmProfilingAdminOnly: 0\nEnableMSI: 1\n"


def test_list_gpus_returns_a_list_and_never_raises() -> None:
    gpus = nvml.list_gpus()
    assert isinstance(gpus, list)
    assert all(isinstance(g, GPUIdentity) for g in gpus)
    import torch

    if not torch.cuda.is_available():
        assert gpus == []
        assert nvml.gpu_identity(0) is None


@pytest.mark.gpu
def test_list_gpus_describes_the_gpu() -> None:
    gpus = nvml.list_gpus()
    assert gpus, "torch sees a GPU but NVML lists none"
    first = gpus[0]
    assert first.uuid and first.uuid.startswith("GPU-")
    assert first.compute_capability and "." in first.compute_capability
    assert first.memory_mib and first.memory_mib > 1024
    assert first.sm_count and first.sm_count > 0


@pytest.mark.parametrize(
    ("text", "admin", "expected"),
    [
        (PARAMS_ADMIN_ONLY, False, False),
        (PARAMS_ADMIN_ONLY, True, True),
        (PARAMS_OPEN, False, True),
        ("EnableMSI: 1\n", False, None),
        (None, True, None),
    ],
)
def test_counter_permission_from_driver_params(text: str | None, admin: bool, expected: bool | None) -> None:
    assert ncu.counters_readable(text, is_admin=admin) is expected


def test_ncu_status_without_ncu_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.setenv("KERNELWRIGHT_NCU", str(tmp_path / "no-such-ncu"))
    status = ncu.ncu_status()
    assert status.path is None and not status.usable
    assert "Nsight Compute" in status.message and "\n" not in status.message


def test_ncu_status_finds_an_explicit_executable_and_reports_permission(
    monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    exe = tmp_path / "ncu"
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    params = tmp_path / "params"
    params.write_text(PARAMS_ADMIN_ONLY)
    monkeypatch.setenv("KERNELWRIGHT_NCU", str(exe))
    monkeypatch.setattr(ncu, "DRIVER_PARAMS", params)
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    status = ncu.ncu_status()
    assert status.path == str(exe)
    assert status.counters_readable is False and not status.usable
    assert "NVreg_RestrictProfilingToAdminUsers=0" in status.message
