"""The observer lifecycle: checks first, each ready observer's own run, results in order; the real
NVML observer runs the real driver child (on the CPU here) under the stop rule."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import pytest

from kernelwright.contracts import Candidate, GPUIdentity, Status, Verdict
from kernelwright.gpu.nvml import list_gpus
from kernelwright.kernelbench.loader import load_task
from kernelwright.profiler import profile as profile_module
from kernelwright.profiler.driver_io import DriverReport
from kernelwright.profiler.observers import (
    NcuObserver,
    ObserverResult,
    PowerLoop,
    PowerObserver,
    ProfiledRun,
    SwitchedOff,
    observe,
)
from kernelwright.profiler.power import NvmlSample
from kernelwright.profiler.profile import (
    NCU_OFF,
    ProfileParts,
    Profiler,
    ProfilerConfig,
    observers_for,
)
from kernelwright.profiler.static import StaticAnalysis
from tests.profiler.test_driver import CANDIDATE, TASK

CASES = Path(__file__).parent / "gpu_cases"
RAISING_CANDIDATE = CANDIDATE.replace("return x.clamp_min(0)", "raise ValueError('broken forward')")


def _run(tmp_path: Path, candidate: str = CANDIDATE) -> ProfiledRun:
    (tmp_path / "source.py").write_text(TASK)
    task = load_task(tmp_path / "source.py")
    run = ProfiledRun.write(
        tmp_path, task, Candidate(source=candidate), ["relu_kernel"], device_index=0, python=sys.executable
    )
    assert run.task_path.read_text() == TASK and run.candidate_path.read_text() == candidate
    return dataclasses.replace(run, device="cpu")


def _power(min_calls: int = 10, min_seconds: float = 0.0, max_seconds: float = 60.0) -> PowerObserver:
    return PowerObserver(
        PowerLoop(min_seconds=min_seconds, min_calls=min_calls, max_seconds=max_seconds, timeout_s=120)
    )


def test_power_observer_runs_the_loop_until_the_stop_rule_says_enough(tmp_path: Path) -> None:
    (result,) = observe([_power(min_calls=30)], _run(tmp_path))
    assert result.power is not None and result.ncu is None
    assert result.power.calls == 30  # three synchronised batches of ten, then min_calls is met
    assert result.power.output_bytes == 256 * 1024 * 4
    if list_gpus():
        assert result.power.reading is not None and result.unavailable == []
    else:  # the child had no NVML: the loop still ran, and the profile says why power is missing
        assert result.unavailable == ["NVML: not usable in the profiled process (no power readings)."]


def test_power_loop_stops_at_its_time_cap_short_of_min_calls(tmp_path: Path) -> None:
    (result,) = observe([_power(min_calls=10**9, max_seconds=0.3)], _run(tmp_path))
    assert result.power is not None and result.power.seconds is not None
    assert result.power.seconds >= 0.3 and result.power.calls % 10 == 0


def test_a_failing_power_child_is_one_line(tmp_path: Path) -> None:
    (result,) = observe([_power()], _run(tmp_path, RAISING_CANDIDATE))
    assert result.power is None
    assert result.unavailable == ["NVML: the sampled loop failed: ValueError: broken forward"]


def test_ncu_observer_without_ncu_says_why_and_runs_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KERNELWRIGHT_NCU", str(tmp_path / "absent-ncu"))
    observer = NcuObserver(ProfilerConfig().ncu)
    run = _run(tmp_path)
    assert observer.before(run) is False
    (result,) = observe([observer], run)
    assert result.ncu is not None and not result.ncu.ok and result.ncu.command == []
    assert len(result.unavailable) == 1 and result.unavailable[0].startswith("Nsight Compute (ncu) not found")
    assert not (tmp_path / "ncu-driver.json").exists()


class Recorder:
    """An observer that records the lifecycle calls it receives, into a log shared with others."""

    def __init__(self, name: str, log: list[str], ready: bool = True):
        self.name, self.log, self.ready = name, log, ready

    def before(self, run: ProfiledRun) -> bool:
        self.log.append(f"before {self.name}")
        return self.ready

    def during(self, run: ProfiledRun) -> None:
        self.log.append(f"during {self.name}")

    def results(self) -> ObserverResult:
        self.log.append(f"results {self.name}")
        return ObserverResult(unavailable=[self.name])


def test_lifecycle_checks_everything_first_and_skips_observers_that_are_not_ready(tmp_path: Path) -> None:
    log: list[str] = []
    observers = [Recorder("a", log), Recorder("off", log, ready=False), Recorder("b", log)]
    results = observe(observers, _run(tmp_path))
    assert log == [
        "before a",
        "before off",
        "before b",
        "during a",
        "during b",
        "results a",
        "results off",
        "results b",
    ]
    assert [r.unavailable for r in results] == [["a"], ["off"], ["b"]]


def test_configuration_decides_the_observers(tmp_path: Path) -> None:
    off = observers_for(ProfilerConfig(run_ncu=False, run_power=False))
    assert [type(o) for o in off] == [SwitchedOff]
    assert [r.unavailable for r in observe(off, _run(tmp_path))] == [[NCU_OFF]]
    both = observers_for(ProfilerConfig())
    assert [type(o) for o in both] == [NcuObserver, PowerObserver]


def test_parts_take_in_each_observers_figures() -> None:
    parts = ProfileParts(static=StaticAnalysis(arch="sm_90"), unavailable=["peaks: unknown"])
    sample = NvmlSample(t_s=0.0, power_mw=1000)
    parts.add(ObserverResult(unavailable=[NCU_OFF]))
    parts.add(
        ObserverResult(power=DriverReport(output_bytes=0, calls=10, samples=[sample]), unavailable=["x"])
    )
    assert parts.unavailable == ["peaks: unknown", NCU_OFF, "x"]
    assert parts.power is None and parts.output_bytes is None and parts.power_samples == [sample]
    parts.add(ObserverResult(power=DriverReport(output_bytes=4096, calls=10)))
    assert parts.output_bytes == 4096.0


def test_profiler_on_a_gpu_runs_its_observers_in_the_candidates_folder(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this checks the observers' wiring without a GPU to run on")
    # The GPU is the one double: NVML "sees" an H100, so the Profiler goes on to its observers,
    # whose real power child then fails to reach CUDA on this machine.
    h100 = GPUIdentity(name="NVIDIA H100 80GB HBM3", sm_count=132, compute_capability="9.0")
    monkeypatch.setattr(profile_module, "gpu_identity", lambda index: h100)
    task = load_task(CASES / "relu_task.py")
    candidate = Candidate(source=(CASES / "relu_candidate.py").read_text())
    config = ProfilerConfig(run_ncu=False, power_timeout_s=120)
    parts = Profiler(config).gather(task, candidate, Verdict(status=Status.ok))
    assert parts.gpu == h100 and parts.static.arch == "sm_90a"  # Hopper compiles for its arch-specific target
    assert parts.unavailable[0] == NCU_OFF
    assert len(parts.unavailable) == 2 and parts.unavailable[1].startswith("NVML: the sampled loop failed: ")
    assert parts.power is None and parts.ncu is None
