"""ncu CSV and NVML parsing on fixtures written from NVIDIA's documented formats (see fixtures/README.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kernelwright.contracts import GPUIdentity
from kernelwright.profiler.ncu import NcuConfig, interpret_ncu_output, kernel_filter, ncu_command
from kernelwright.profiler.ncu_csv import (
    NcuParseError,
    aggregate_per_kernel,
    kernel_base_name,
    parse_ncu_csv,
    parse_number,
    to_base_unit,
)
from kernelwright.profiler.ncu_metrics import CURATED, next_metric_set, rejected_metrics
from kernelwright.profiler.power import NvmlSample, decode_clock_event_reasons, power_metrics, summarise

FIXTURES = Path(__file__).parent / "fixtures"
RAW = FIXTURES / "ncu_raw_documented_format_relu_h100.csv"
DETAILS = FIXTURES / "ncu_details_documented_format_reduction_h100.csv"


def test_numbers_and_units() -> None:
    assert parse_number("1,234,567.5") == 1234567.5
    assert parse_number("n/a") is None and parse_number("") is None and parse_number("(256, 1, 1)") is None
    assert to_base_unit(178_432, "nsecond") == pytest.approx(0.178432)
    assert to_base_unit(41.31, "usecond") == pytest.approx(0.04131)
    assert to_base_unit(268.44, "Mbyte") == pytest.approx(268.44e6)
    assert to_base_unit(90.0, "%") == 90.0
    assert kernel_base_name("void ns::block_sum<float>(const float *, float *, long long)") == "block_sum"
    assert kernel_base_name("relu_kernel") == "relu_kernel"


def test_raw_page_is_parsed_per_launch_and_aggregated_per_call() -> None:
    launches = parse_ncu_csv(RAW.read_text())
    assert [launch.launch_id for launch in launches] == [0, 1, 2]
    assert {launch.kernel for launch in launches} == {"relu_kernel"}
    assert set(launches[0].values) == {m.ncu_name for m in CURATED}
    assert launches[0].values["sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active"] is None
    per_kernel = aggregate_per_kernel(launches, calls=3)
    relu = per_kernel["relu_kernel"]
    assert relu["launches_per_call"] == 1
    assert relu["duration_ms"] == pytest.approx((178_432 + 178_208 + 178_656) / 3 / 1e6)
    assert relu["dram_read_bytes"] == pytest.approx(268.44e6)
    assert relu["dram_throughput_pct"] == pytest.approx(90.05)
    assert relu["grid_size"] == 262_144
    assert "tensor_pipe_pct" not in relu  # n/a everywhere: left out, not zero


def test_details_page_with_two_kernels() -> None:
    per_kernel = aggregate_per_kernel(parse_ncu_csv(DETAILS.read_text()), calls=1)
    assert set(per_kernel) == {"block_sum", "final_sum"}
    assert per_kernel["block_sum"]["duration_ms"] == pytest.approx(0.04131)
    assert per_kernel["block_sum"]["dram_write_bytes"] == pytest.approx(4100)
    assert per_kernel["block_sum"]["shared_load_bank_conflicts"] == 1_048_576
    assert per_kernel["final_sum"]["dram_write_bytes"] == 32


def test_garbage_and_permission_errors() -> None:
    with pytest.raises(NcuParseError):
        parse_ncu_csv("==PROF== Connected\nno table here\n")
    denied = interpret_ncu_output((FIXTURES / "ncu_permission_error_documented_format.txt").read_text(), 1, 3)
    assert not denied.ok and "ERR_NVGPUCTRPERM" in denied.message
    assert "NVreg_RestrictProfilingToAdminUsers=0" in denied.message and "\n" not in denied.message
    nothing = interpret_ncu_output("==PROF== Disconnected\n==WARNING== No kernels were profiled.\n", 0, 3)
    assert not nothing.ok and "no launch" in nothing.message
    ok = interpret_ncu_output(RAW.read_text(), 0, 3)
    assert ok.ok and ok.launches == 3 and set(ok.kernels) == {"relu_kernel"}


def test_ncu_command_profiles_only_the_candidates_kernels() -> None:
    names = ["relu_kernel", "_Z8add_biasPfS_i", "ns::scale"]
    assert kernel_filter(names) == r"regex:^(add_bias|relu_kernel|scale)$"
    cmd = ncu_command(
        "/opt/ncu", names, NcuConfig(max_launches=7, launch_skip=2), ["python3", "-m", "driver"]
    )
    joined = " ".join(cmd)
    assert (
        "--profile-from-start off" in joined and "--launch-count 7" in joined and "--launch-skip 2" in joined
    )
    assert "--clock-control none" in joined  # durations at the clocks the sandbox timed at
    assert cmd[cmd.index("--metrics") + 1].count(",") == len(CURATED) - 1
    assert cmd[-3:] == ["python3", "-m", "driver"]


def test_clock_event_reasons_decode_to_names() -> None:
    assert decode_clock_event_reasons(0) == []
    assert decode_clock_event_reasons(0x4 | 0x10 | 0x40) == [
        "sw_power_cap",
        "sync_boost",
        "hw_thermal_slowdown",
    ]
    assert decode_clock_event_reasons(0x1000) == ["other(0x1000)"]


def test_nvml_readings_condense_to_power_energy_clocks_and_reasons() -> None:
    doc = json.loads((FIXTURES / "nvml_samples_documented_format_h100.json").read_text())
    samples = [NvmlSample.model_validate(s) for s in doc["samples"]]
    reading = summarise(
        samples,
        calls=doc["calls"],
        duration_s=doc["duration_s"],
        energy_delta_mj=doc["energy_delta_mj"],
        gpu=GPUIdentity.model_validate(doc["gpu"]),
    )
    assert reading.energy_per_call_mj == pytest.approx(612_000 / 5000)
    assert reading.energy_source == "counter"
    assert 598 <= reading.power_w_median <= 607
    assert reading.sm_clock_mhz_median == 1980 and reading.temperature_c_max == 57
    assert reading.throttle_reasons == ["sw_power_cap"]  # idle is not a throttle
    assert reading.gpu is not None and reading.gpu.uuid
    without_counter = summarise(samples, calls=10, duration_s=1.0, energy_delta_mj=None, gpu=None)
    assert without_counter.energy_source == "power x time"
    names = {m.name for m in power_metrics(reading)}
    assert {"power_w_median", "energy_per_call_mj", "sm_clock_mhz_median"} <= names


def test_rejected_metrics_get_their_other_spelling_or_are_dropped() -> None:
    requested = [m.ncu_name for m in CURATED]
    # ncu's message for a metric it does not know, as printed for a regex-expanded name.
    output = (
        "==PROF== Connected to process 20101 (/usr/bin/python3.10)\n"
        "==ERROR== Failed to find metric regex:^dram__bytes_read\\.(sum|min|max|avg|pct|ratio|max_rate)$\n"
        "==ERROR== Failed to find metric smsp__sass_average_branch_targets_threads_uniform.pct\n"
    )
    rejected = rejected_metrics(output, requested)
    assert rejected == ["dram__bytes_read.sum", "smsp__sass_average_branch_targets_threads_uniform.pct"]
    retry = next_metric_set(requested, rejected)
    assert "dram__bytes_op_read.sum" in retry and "dram__bytes_read.sum" not in retry
    assert "smsp__sass_average_branch_targets_threads_uniform.pct" not in retry
    assert len(retry) == len(requested) - 1
    assert next_metric_set(retry, ["dram__bytes_op_read.sum"]) == [
        n for n in retry if n != "dram__bytes_op_read.sum"
    ]
    assert rejected_metrics(RAW.read_text(), requested) == []


def test_alternative_spelling_parses_to_the_same_short_name() -> None:
    text = RAW.read_text().replace('"dram__bytes_read.sum"', '"dram__bytes_op_read.sum"')
    relu = aggregate_per_kernel(parse_ncu_csv(text), calls=3)["relu_kernel"]
    assert relu["dram_read_bytes"] == pytest.approx(268.44e6)
