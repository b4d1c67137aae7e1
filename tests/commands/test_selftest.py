"""`kernelwright selftest`: on this CPU machine the NVRTC stage really compiles and the command exits 3
with one sentence; each failure a user meets maps to its fix (real ncu output fixtures, recorded
Verdicts, real NVRTC errors). The whole run on a GPU is the `gpu`-marked test at the end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernelwright.commands.selftest import line, summary
from kernelwright.commands.selftest_case import KERNEL_NAME, selftest_candidate, selftest_task
from kernelwright.commands.selftest_stages import (
    ARCH_UNKNOWN_FIX,
    COUNTERS_FIX,
    DRIVER_TOO_OLD_FIX,
    NVML_FIX,
    SelftestReport,
    StageStatus,
    driver_stage,
    gpu_stage,
    loader_stage,
    ncu_stage,
    nvml_stage,
    nvrtc_stage,
    verdict_stage,
)
from kernelwright.contracts import GPUIdentity, Status, Verdict
from kernelwright.gpu.availability import gpu_available
from kernelwright.profiler.ncu import NcuConfig, interpret_ncu_output, run_ncu
from kernelwright.sandbox.build.compile import nvrtc_version
from kernelwright.sandbox.loaders import LOADER_NAMES, missing_reason
from tests.support.recorded import load_fixture

PROFILER_FIXTURES = Path(__file__).parents[1] / "profiler" / "fixtures"


def kernelwright(*args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", "from kernelwright.cli import main; main()", *args]
    return subprocess.run(
        command, capture_output=True, text=True, timeout=300, env=dict(os.environ, COLUMNS="200")
    )


def test_nvrtc_stage_really_compiles_the_selftest_kernel() -> None:
    stage, compiled = nvrtc_stage("sm_90a")
    assert stage.status == StageStatus.ok, stage.detail
    assert compiled is not None and compiled.cubin and KERNEL_NAME in compiled.kernel_names
    assert f"NVRTC {nvrtc_version()} compiled {KERNEL_NAME} for sm_90a" in stage.detail
    assert stage.fix is None


def test_an_arch_this_nvrtc_does_not_know_says_to_upgrade_it() -> None:
    stage, compiled = nvrtc_stage("sm_200")
    assert stage.status == StageStatus.failed and compiled is None
    assert "--gpu-architecture" in stage.detail and stage.fix == ARCH_UNKNOWN_FIX


def test_the_selftest_task_and_candidate_load_and_pass_the_guard() -> None:
    from kernelwright.sandbox.guard.static_check import static_verdict

    task = selftest_task()
    assert task.inputs[0].shape == [1 << 24] and task.inputs[0].dtype == "float32"
    verdict = static_verdict(task, selftest_candidate())
    assert verdict.status == Status.ok, verdict.message


@pytest.mark.skipif(gpu_available(), reason="checks the machine without a GPU")
def test_without_a_gpu_it_exits_3_with_one_sentence() -> None:
    done = kernelwright("selftest")
    assert done.returncode == 3, done.stderr
    assert done.stdout == ""
    message = done.stderr.strip()
    assert len(message.splitlines()) == 1 and message.count(". ") == 0 and message.endswith(".")
    assert message.startswith("error: kernelwright selftest needs")
    assert "Traceback" not in done.stderr


def test_selftest_is_listed_in_the_help() -> None:
    done = kernelwright("--help")
    assert done.returncode == 0 and "selftest" in done.stdout


def test_no_counter_permission_is_a_line_with_its_fix() -> None:
    text = (PROFILER_FIXTURES / "ncu_permission_error_documented_format.txt").read_text()
    run = interpret_ncu_output(text, 1, 1)
    stage = ncu_stage(run.message, run.ok, run.launches, "/usr/local/cuda/bin/ncu")
    assert stage.status == StageStatus.failed and "ERR_NVGPUCTRPERM" in stage.detail
    assert stage.fix == COUNTERS_FIX
    assert stage.fix.startswith(
        "counters unreadable: run with sudo or set NVreg_RestrictProfilingToAdminUsers=0"
    )
    assert "\n" not in line(stage)


def test_missing_ncu_is_a_line_with_its_fix(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("KERNELWRIGHT_NCU", str(tmp_path / "absent-ncu"))
    run = run_ncu("t.py", "c.py", [KERNEL_NAME], NcuConfig(), python=sys.executable, workdir=str(tmp_path))
    stage = ncu_stage(run.message, run.ok, run.launches, None)
    assert stage.status == StageStatus.failed and "not found" in stage.detail
    assert stage.fix is not None and "Nsight Compute" in stage.fix


def test_a_driver_older_than_nvrtc_is_named_with_its_fix() -> None:
    version = nvrtc_version()
    assert version is not None
    major = int(version.split(".")[0])
    old = GPUIdentity(name="NVIDIA H100 80GB HBM3", driver="535.104.05", cuda_version=f"{major - 1}.2")
    stage = driver_stage(old)
    assert stage.status == StageStatus.failed and stage.fix == DRIVER_TOO_OLD_FIX
    new = old.model_copy(update={"driver": "580.65.06", "cuda_version": f"{major}.9"})
    assert driver_stage(new).status == StageStatus.ok
    torch_needs_newer = gpu_stage(old.model_copy(update={"cuda_version": "1.0"}))
    import torch

    if torch.version.cuda:  # a CPU-only torch has no CUDA version to compare
        assert torch_needs_newer.status == StageStatus.failed and "update the NVIDIA driver" in (
            torch_needs_newer.fix or ""
        )
    assert gpu_stage(None).status == StageStatus.failed


def test_loader_lines_from_recorded_verdicts() -> None:
    ok, _ = load_fixture("ok_1.10x")
    stage = verdict_stage("loader cupy", ok, 2.0)
    assert (
        stage.status == StageStatus.ok and "verified (5 trials)" in stage.detail and "(1.10x)" in stage.detail
    )
    crashed, _ = load_fixture("runtime_error")
    assert verdict_stage("loader cupy", crashed).status == StageStatus.failed
    ptx = Verdict(
        status=Status.runtime_error,
        message="CudaLaunchError: cuModuleLoadData: CUDA_ERROR_UNSUPPORTED_PTX_VERSION: the provided PTX was compiled with an unsupported toolchain.",
    )
    stage = verdict_stage("loader cuda-python", ptx)
    assert stage.status == StageStatus.failed and stage.fix == DRIVER_TOO_OLD_FIX
    assert "runtime_error" in stage.detail


def test_a_loader_that_is_not_installed_is_skipped_with_its_reason() -> None:
    missing = [name for name in LOADER_NAMES if missing_reason(name) is not None]
    if not missing:
        pytest.skip("every loader is installed here")

    def never(loader: str) -> Verdict:
        raise AssertionError(f"a missing loader ({loader}) must not be run")

    stage, verdict = loader_stage(missing[0], selftest_task(), selftest_candidate(), never)
    assert stage.status == StageStatus.skipped and verdict is None
    assert stage.detail == missing_reason(missing[0]) and stage.name == f"loader {missing[0]}"
    assert line(stage).startswith("[yellow]skipped")


def test_nvml_without_readings_names_its_fix() -> None:
    stage = nvml_stage(None, None, ["NVML: not usable in the profiled process (no power readings)."])
    assert stage.status == StageStatus.failed and stage.fix == NVML_FIX
    assert nvml_stage(412.0, 3.1, []).detail == "412 W median, 3.1 mJ per call"


def test_report_round_trips_as_json_and_sums_up() -> None:
    stage, _ = nvrtc_stage("sm_90a")
    report = SelftestReport(gpu="NVIDIA H100 80GB HBM3", arch="sm_90a", stages=[stage], seconds=1.0)
    again = SelftestReport.model_validate(json.loads(report.model_dump_json()))
    assert again == report and not again.failed
    assert summary(again) == "selftest passed on NVIDIA H100 80GB HBM3 (sm_90a) in 1 s."


# slow: scripts/gpu-check runs the command itself first and keeps its output; this repeats it
# through pytest with the time left at the end.
@pytest.mark.gpu
@pytest.mark.slow
def test_the_whole_selftest_on_a_gpu(tmp_path: Path) -> None:
    saved = tmp_path / "selftest.json"
    done = kernelwright("selftest", "--save", str(saved))
    assert done.returncode in (0, 1), done.stderr
    report = SelftestReport.model_validate_json(saved.read_text())
    by_name = {s.name: s for s in report.stages}
    for name in ("gpu", "nvrtc", "driver", "loader cuda-python"):
        assert by_name[name].status == StageStatus.ok, by_name[name]
    for stage in report.stages:
        if stage.status == StageStatus.failed:
            assert stage.name in ("ncu", "nvml") and stage.fix, stage  # the machine's, with its fix
        assert stage.name in done.stdout
    assert report.seconds < 90, "the selftest is meant to take about a minute"


@pytest.mark.skipif(gpu_available(), reason="checks the run's order and skips without a GPU")
def test_every_stage_has_its_line_in_order_even_without_a_gpu() -> None:
    from kernelwright.commands.selftest_stages import run_selftest

    seen: list[str] = []
    report = run_selftest(lambda stage: seen.append(stage.name))
    names = [s.name for s in report.stages]
    assert seen == names == ["gpu", "nvrtc", *(f"loader {n}" for n in LOADER_NAMES), "ncu", "nvml"]
    by_name = {s.name: s for s in report.stages}
    assert by_name["nvrtc"].status == StageStatus.ok  # NVRTC needs no GPU
    assert by_name["gpu"].status == StageStatus.failed and by_name["gpu"].fix
    for name in LOADER_NAMES:  # each loader's own line: the sandbox's refusal, or why it is skipped
        stage = by_name[f"loader {name}"]
        expected = StageStatus.skipped if missing_reason(name) else StageStatus.failed
        assert stage.status == expected and "\n" not in stage.detail
    assert by_name["ncu"].status == by_name["nvml"].status == StageStatus.skipped
