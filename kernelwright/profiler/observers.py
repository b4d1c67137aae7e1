"""Measurements as observers: each source of figures on a judged candidate (Nsight Compute, NVML
power) hooks into one profiling lifecycle and adds its own figures to the profile, so the Profiler
runs whatever list its configuration builds instead of hard-coding one tool after another.

The lifecycle of one correct candidate, as `observe` runs it:

    before(run)  every observer, before any candidate code runs: checks its tool and settings;
                 False when it cannot observe here (its results() says why). All checks come first
                 so a missing tool is known before minutes of profiling start.
    during(run)  each ready observer in turn: its own profiled run of the candidate, a child process
                 (ncu replays kernels, which would distort power, so the two never share one run).
    results()    every observer: its figures, and one line per figure it could not give.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from kernelwright.contracts import Candidate, Task
from kernelwright.profiler.child import child_env, run_in_group
from kernelwright.profiler.driver_io import DriverReport, driver_command
from kernelwright.profiler.ncu import NcuConfig, NcuRun, ncu_refusal, ncu_status, run_ncu


@dataclass(frozen=True)
class ProfiledRun:
    """One judged candidate as the observers see it: task and candidate as files in a private
    folder (the children's working directory), the kernels to look at, and where to run."""

    workdir: Path
    task_path: Path
    candidate_path: Path
    kernel_names: tuple[str, ...]
    device_index: int
    python: str
    device: Literal["cuda", "cpu"] = "cuda"
    """The children's torch device; "cpu" exists for the power child's tests on machines without a GPU."""

    @classmethod
    def write(
        cls,
        workdir: str | Path,
        task: Task,
        candidate: Candidate,
        kernel_names: Sequence[str],
        *,
        device_index: int,
        python: str,
    ) -> ProfiledRun:
        """Writes the task and candidate sources into `workdir` and describes the run."""
        folder = Path(workdir)
        task_path, candidate_path = folder / "task.py", folder / "candidate.py"
        task_path.write_text(task.source)
        candidate_path.write_text(candidate.source)
        return cls(folder, task_path, candidate_path, tuple(kernel_names), device_index, python)


class ObserverResult(BaseModel):
    """What one observer adds to the profile: the figures it measured, and why others are missing."""

    ncu: NcuRun | None = Field(None, description="Nsight Compute's per-kernel figures, or why it failed.")
    power: DriverReport | None = Field(None, description="The NVML-sampled loop's report.")
    unavailable: list[str] = Field(default_factory=list, description="One line per missing figure.")


class Observer(Protocol):
    """One source of figures in the profiling lifecycle (see the module docstring)."""

    def before(self, run: ProfiledRun) -> bool:
        """Checks before any candidate code runs; False when this observer cannot observe here."""
        ...

    def during(self, run: ProfiledRun) -> None:
        """Its own profiled run of the candidate; only called when before() answered True."""
        ...

    def results(self) -> ObserverResult:
        """Its figures and unavailable lines; called once, after every observer's run."""
        ...


def observe(observers: Sequence[Observer], run: ProfiledRun) -> list[ObserverResult]:
    """Runs the lifecycle; the results come in the observers' order, so the profile's text is stable."""
    ready = [observer.before(run) for observer in observers]
    for observer, ok in zip(observers, ready, strict=True):
        if ok:
            observer.during(run)
    return [observer.results() for observer in observers]


class SwitchedOff:
    """Stands for an observer the configuration turned off, so the profile says so in one line."""

    def __init__(self, sentence: str):
        self.sentence = sentence

    def before(self, run: ProfiledRun) -> bool:
        return False

    def during(self, run: ProfiledRun) -> None:
        """Never called: before() answers False."""

    def results(self) -> ObserverResult:
        return ObserverResult(unavailable=[self.sentence])


class NcuObserver:
    """Nsight Compute on exactly the candidate's kernels (ncu.run_ncu)."""

    def __init__(self, config: NcuConfig):
        self.config = config
        self._run: NcuRun | None = None

    def before(self, run: ProfiledRun) -> bool:
        refusal = ncu_refusal(ncu_status(), list(run.kernel_names))
        self._run = NcuRun(ok=False, message=refusal) if refusal else None
        return refusal is None

    def during(self, run: ProfiledRun) -> None:
        self._run = run_ncu(
            str(run.task_path),
            str(run.candidate_path),
            list(run.kernel_names),
            self.config,
            python=run.python,
            workdir=str(run.workdir),
            env=child_env(run.device_index),
        )

    def results(self) -> ObserverResult:
        if self._run is None:
            return ObserverResult()
        # The message says why ncu failed, or which counters this ncu lacks.
        return ObserverResult(ncu=self._run, unavailable=[self._run.message] if self._run.message else [])


@dataclass(frozen=True)
class PowerLoop:
    """How long the NVML-sampled loop runs (kernelwright.stop_rule) and its process's time limit."""

    min_seconds: float
    min_calls: int
    max_seconds: float
    timeout_s: float

    def options(self) -> list[str]:
        return [
            *("--min-seconds", str(self.min_seconds)),
            *("--min-calls", str(self.min_calls)),
            *("--max-seconds", str(self.max_seconds)),
        ]


class PowerObserver:
    """NVML power, clocks and throttling around back-to-back calls, in the driver's power mode."""

    def __init__(self, loop: PowerLoop):
        self.loop = loop
        self._report: DriverReport | None = None
        self._unavailable: list[str] = []

    def before(self, run: ProfiledRun) -> bool:
        # Whether NVML works is only known inside the child, which reports a loop without readings.
        return True

    def during(self, run: ProfiledRun) -> None:
        out = run.workdir / "power.json"
        cmd = driver_command(run.python, run.task_path, run.candidate_path, "power", out)
        cmd += [*self.loop.options(), "--device-index", str(run.device_index), "--device", run.device]
        child = run_in_group(
            cmd, cwd=str(run.workdir), env=child_env(run.device_index), timeout_s=self.loop.timeout_s
        )
        if child.returncode is None:
            self._unavailable.append(
                f"NVML: the sampled loop did not finish within {self.loop.timeout_s:.0f} s."
            )
            return
        if child.returncode != 0 or not out.exists():
            last = (child.stderr.strip().splitlines() or ["no output"])[-1]
            self._unavailable.append(f"NVML: the sampled loop failed: {last[:200]}")
            return
        self._report = DriverReport.model_validate_json(out.read_text())
        if self._report.reading is None:
            self._unavailable.append("NVML: not usable in the profiled process (no power readings).")

    def results(self) -> ObserverResult:
        return ObserverResult(power=self._report, unavailable=list(self._unavailable))
