"""Nsight Compute across releases: renamed metrics resolved from `ncu --query-metrics` before the
profiled run (one run, not one per rejection), and the older CSV layout with a "Kernel Time" column.
The query listing and the 2020 CSVs are written by hand from the formats those releases print
(fixtures/README.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernelwright.profiler.ncu import interpret_ncu_output
from kernelwright.profiler.ncu_csv import aggregate_per_kernel, parse_ncu_csv
from kernelwright.profiler.ncu_metrics import (
    BY_NCU_NAME,
    CURATED,
    listed_metrics,
    metric_base,
    next_metric_set,
    rejected_metrics,
    resolve_metrics,
    spellings,
)

FIXTURES = Path(__file__).parent / "fixtures"
WARP_CYCLES_OLD = "smsp__average_warps_active_per_issue_active.ratio"
WARP_CYCLES_NEW = "smsp__average_warp_latency_per_inst_issued.ratio"

# `ncu --query-metrics` prints the device, then a two-column table of base names and descriptions.
QUERY_HEADER = """Device NVIDIA H100 80GB HBM3 (GH100)
------------------------------------------- ------------------------------------------------------
Metric Name                                 Metric Description
------------------------------------------- ------------------------------------------------------
"""


def _listing(bases: set[str]) -> str:
    return QUERY_HEADER + "".join(f"{b:<44}# of something counted\n" for b in sorted(bases))


def _every_first_base() -> set[str]:
    return {metric_base(m.ncu_name) for m in CURATED}


def test_the_warp_cycles_metric_has_both_spellings_under_one_short_name() -> None:
    assert spellings(WARP_CYCLES_OLD) == (WARP_CYCLES_OLD, WARP_CYCLES_NEW)
    assert BY_NCU_NAME[WARP_CYCLES_NEW].short == BY_NCU_NAME[WARP_CYCLES_OLD].short == "warp_cycles_per_issue"


def test_query_listing_is_read_as_base_names() -> None:
    text = _listing({"dram__bytes_read", "sm__throughput"}) + '"lts__t_sector_hit_rate","%","hit rate"\n'
    assert listed_metrics(text) == {"dram__bytes_read", "sm__throughput", "lts__t_sector_hit_rate"}
    assert listed_metrics("==ERROR== No supported devices found.\n") == set()


def test_renamed_and_missing_metrics_are_settled_in_one_pass_before_the_run() -> None:
    # A release that spells warp cycles the other way, calls DRAM reads dram__bytes_op_read and
    # has no branch-uniformity counter: three differences, all settled from the one listing.
    offered = _every_first_base() - {
        metric_base(WARP_CYCLES_OLD),
        "dram__bytes_read",
        "smsp__sass_average_branch_targets_threads_uniform",
    }
    offered |= {metric_base(WARP_CYCLES_NEW), "dram__bytes_op_read"}
    choice = resolve_metrics(listed_metrics(_listing(offered)))
    assert WARP_CYCLES_NEW in choice.requested and WARP_CYCLES_OLD not in choice.requested
    assert "dram__bytes_op_read.sum" in choice.requested and "dram__bytes_read.sum" not in choice.requested
    assert choice.unavailable == ["smsp__sass_average_branch_targets_threads_uniform.pct"]
    assert len(choice.requested) == len(CURATED) - 1
    # Each short name is asked for once, under the spelling this ncu knows.
    shorts = [BY_NCU_NAME[n].short for n in choice.requested]
    assert len(shorts) == len(set(shorts))


def test_without_a_listing_every_first_spelling_is_asked_for() -> None:
    for listed in (None, set()):
        choice = resolve_metrics(listed)
        assert choice.requested == [m.ncu_name for m in CURATED] and choice.unavailable == []


def test_every_metric_ncu_rejects_in_one_run_is_replaced_or_dropped_at_once() -> None:
    requested = [m.ncu_name for m in CURATED]
    output = (
        "==PROF== Connected to process 20101 (/usr/bin/python3.10)\n"
        f"==ERROR== Failed to find metric regex:^{metric_base(WARP_CYCLES_OLD)}\\.(sum|min|max|avg|pct|ratio|max_rate)$\n"
        "==ERROR== Failed to find metric regex:^dram__bytes_write\\.(sum|min|max|avg|pct|ratio|max_rate)$\n"
    )
    rejected = rejected_metrics(output, requested)
    assert rejected == ["dram__bytes_write.sum", WARP_CYCLES_OLD]
    retry = next_metric_set(requested, rejected)
    assert WARP_CYCLES_NEW in retry and "dram__bytes_op_write.sum" in retry and len(retry) == len(requested)


def test_details_page_with_the_kernel_time_column() -> None:
    text = (FIXTURES / "ncu_details_kernel_time_layout_2020.csv").read_text()
    launches = parse_ncu_csv(text)
    assert [(launch.launch_id, launch.kernel) for launch in launches] == [(0, "block_sum"), (1, "final_sum")]
    per_kernel = aggregate_per_kernel(launches, calls=1)
    assert per_kernel["block_sum"]["duration_ms"] == pytest.approx(0.04131)
    assert per_kernel["block_sum"]["dram_read_bytes"] == pytest.approx(67.11e6)
    assert per_kernel["final_sum"]["dram_write_bytes"] == 32
    assert "Kernel Time" not in launches[0].values  # a timestamp, not a metric


def test_raw_page_with_the_kernel_time_column() -> None:
    run = interpret_ncu_output((FIXTURES / "ncu_raw_kernel_time_layout_2020.csv").read_text(), 0, 2)
    assert run.ok and run.launches == 2
    relu = run.kernels["relu_kernel"]
    assert relu["duration_ms"] == pytest.approx((178_432 + 178_208) / 2 / 1e6)
    assert relu["dram_read_bytes"] == pytest.approx(268.44e6) and relu["grid_size"] == 262_144
