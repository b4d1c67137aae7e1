"""GPU spec lookup and NVML-derived estimates; the findings rules on the two-kernel reduction fixture."""

from __future__ import annotations

from pathlib import Path

import pytest

from kernelwright.gpu.specs import all_specs, estimate_spec, lookup_spec
from kernelwright.profiler.findings import rank_findings
from kernelwright.profiler.ncu_csv import aggregate_per_kernel, parse_ncu_csv

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize(
    ("nvml_name", "row", "bandwidth"),
    [
        ("NVIDIA H100 80GB HBM3", "H100 SXM", 3350),
        ("NVIDIA H100 PCIe", "H100 PCIe", 2000),
        ("NVIDIA H200", "H200", 4800),
        ("NVIDIA A100-SXM4-80GB", "A100 80GB", 2039),
        ("NVIDIA A100-SXM4-40GB", "A100 40GB", 1555),
        ("NVIDIA L40S", "L40S", 864),
        ("NVIDIA L4", "L4", 300),
        ("NVIDIA A10G", "A10G", 600),
        ("NVIDIA GeForce RTX 4090", "RTX 4090", 1008),
        ("NVIDIA GeForce RTX 3090", "RTX 3090", 936),
        ("Tesla T4", "T4", 320),
        ("NVIDIA B200", "B200", 8000),
    ],
)
def test_nvml_names_find_their_datasheet_row(nvml_name: str, row: str, bandwidth: float) -> None:
    spec = lookup_spec(nvml_name)
    assert spec is not None and spec.name == row and spec.dram_bandwidth_gbs == bandwidth
    assert not spec.estimated


def test_every_row_is_cited_and_complete() -> None:
    for spec in all_specs():
        assert spec.source and spec.sm_count and spec.l2_mib and spec.smem_per_sm_kib and spec.fp32_tflops
        assert spec.compute_capability and spec.fp16_tflops
    assert lookup_spec("NVIDIA L40") is None  # L40 is not L40S or L4


def test_unknown_gpu_estimate_is_marked_and_matches_a_known_part() -> None:
    # H100 SXM as NVML reports it: 2619 MHz max memory clock, 5120-bit bus, 1980 MHz max SM clock.
    spec = estimate_spec(
        "Unlisted GPU",
        compute_capability="9.0",
        sm_count=132,
        max_mem_clock_mhz=2619,
        bus_width_bits=5120,
        max_sm_clock_mhz=1980,
    )
    assert spec is not None and spec.estimated and "estimated" in spec.source
    assert spec.dram_bandwidth_gbs == pytest.approx(3352.3, abs=0.1)
    assert spec.fp32_tflops == pytest.approx(66.9, abs=0.1)
    assert (
        estimate_spec(
            "x",
            compute_capability=None,
            sm_count=None,
            max_mem_clock_mhz=None,
            bus_width_bits=None,
            max_sm_clock_mhz=None,
        )
        is None
    )


def test_reduction_findings_name_barrier_stalls_and_bank_conflicts() -> None:
    kernels = aggregate_per_kernel(
        parse_ncu_csv((FIXTURES / "ncu_details_documented_format_reduction_h100.csv").read_text())
    )
    found = rank_findings(kernels["block_sum"], None, [], {})
    metrics = [f.metric for f in found]
    assert metrics[0] == "stall barrier share"  # 9.1 of 20.5 warp cycles
    assert "shared bank conflicts" in metrics and "dram_throughput" in metrics
    assert 3 <= len(found) <= 6
    assert found == rank_findings(kernels["block_sum"], None, [], {})
    tail = rank_findings(kernels["final_sum"], "warps", [], {})
    assert any(f.metric == "achieved_occupancy" for f in tail)  # 1.5% achieved of 50% possible
