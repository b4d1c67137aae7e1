"""The profiled child's interface, shared by the child (driver.py) and the observers that start it:
its command line and the report it writes. Kept apart from driver.py, which the parent never imports."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from kernelwright.profiler.power import NvmlSample, PowerReading

DriverMode = Literal["ncu", "power"]


class DriverReport(BaseModel):
    """What the driver writes to its --out file."""

    output_bytes: int = Field(0, description="Bytes of the candidate's output, for the roofline estimate.")
    calls: int = Field(0, description="Calls in the profiled range (ncu) or the sampled loop (power).")
    seconds: float | None = Field(None, description="Length of the sampled loop; power mode only.")
    reading: PowerReading | None = Field(None, description="Condensed NVML figures; None without NVML.")
    samples: list[NvmlSample] = Field(default_factory=list, description="Raw NVML samples, for fixtures.")


def driver_command(
    python: str,
    task_path: str | Path,
    candidate_path: str | Path,
    mode: DriverMode,
    out: str | Path,
    *options: str,
) -> list[str]:
    """`python -m kernelwright.profiler.driver ...` for one mode; `options` are the mode's own flags."""
    return [
        python,
        "-m",
        "kernelwright.profiler.driver",
        "--task",
        str(task_path),
        "--candidate",
        str(candidate_path),
        "--mode",
        mode,
        "--out",
        str(out),
        *options,
    ]
