"""The curated Nsight Compute metric set (about 35 counters that track runtime) and its short names.

Metric names are those of Nsight Compute's metrics reference (Kernel Profiling Guide, "Metrics
Reference" and the sections' .section files: SpeedOfLight, Occupancy, LaunchStats,
MemoryWorkloadAnalysis, WarpStateStats, ComputeWorkloadAnalysis, SourceCounters). CudaForge's
ablation is the reason the set is small: every metric shown to the Judge must earn its place.
"""

from __future__ import annotations

import re
from typing import Literal, NamedTuple


class NcuMetric(NamedTuple):
    ncu_name: str
    short: str
    kind: Literal["time", "bytes", "pct", "count", "ratio"]


CURATED: tuple[NcuMetric, ...] = (
    NcuMetric("gpu__time_duration.sum", "duration_ms", "time"),
    NcuMetric("sm__throughput.avg.pct_of_peak_sustained_elapsed", "sm_throughput_pct", "pct"),
    NcuMetric(
        "gpu__compute_memory_throughput.avg.pct_of_peak_sustained_elapsed", "memory_throughput_pct", "pct"
    ),
    NcuMetric("dram__throughput.avg.pct_of_peak_sustained_elapsed", "dram_throughput_pct", "pct"),
    NcuMetric("dram__bytes_read.sum", "dram_read_bytes", "bytes"),
    NcuMetric("dram__bytes_write.sum", "dram_write_bytes", "bytes"),
    NcuMetric("l1tex__t_sector_hit_rate.pct", "l1_hit_rate_pct", "pct"),
    NcuMetric("lts__t_sector_hit_rate.pct", "l2_hit_rate_pct", "pct"),
    NcuMetric("l1tex__throughput.avg.pct_of_peak_sustained_active", "l1_throughput_pct", "pct"),
    NcuMetric("lts__throughput.avg.pct_of_peak_sustained_elapsed", "l2_throughput_pct", "pct"),
    NcuMetric("sm__warps_active.avg.pct_of_peak_sustained_active", "achieved_occupancy_pct", "pct"),
    NcuMetric("sm__maximum_warps_per_active_cycle_pct", "theoretical_occupancy_pct", "pct"),
    NcuMetric("launch__occupancy_limit_registers", "occupancy_limit_registers", "count"),
    NcuMetric("launch__occupancy_limit_shared_mem", "occupancy_limit_shared", "count"),
    NcuMetric("launch__occupancy_limit_warps", "occupancy_limit_warps", "count"),
    NcuMetric("launch__occupancy_limit_blocks", "occupancy_limit_blocks", "count"),
    NcuMetric("launch__registers_per_thread", "registers_per_thread", "count"),
    NcuMetric("launch__block_size", "block_size", "count"),
    NcuMetric("launch__grid_size", "grid_size", "count"),
    NcuMetric("sm__pipe_fma_cycles_active.avg.pct_of_peak_sustained_active", "fp32_fma_pipe_pct", "pct"),
    NcuMetric("sm__pipe_fp16_cycles_active.avg.pct_of_peak_sustained_active", "fp16_pipe_pct", "pct"),
    NcuMetric("sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active", "tensor_pipe_pct", "pct"),
    NcuMetric(
        "l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_ld.sum", "shared_load_bank_conflicts", "count"
    ),
    NcuMetric(
        "l1tex__data_bank_conflicts_pipe_lsu_mem_shared_op_st.sum", "shared_store_bank_conflicts", "count"
    ),
    NcuMetric("smsp__average_warps_active_per_issue_active.ratio", "warp_cycles_per_issue", "ratio"),
    NcuMetric(
        "smsp__average_warps_issue_stalled_long_scoreboard_per_issue_active.ratio",
        "stall_long_scoreboard",
        "ratio",
    ),
    NcuMetric(
        "smsp__average_warps_issue_stalled_short_scoreboard_per_issue_active.ratio",
        "stall_short_scoreboard",
        "ratio",
    ),
    NcuMetric("smsp__average_warps_issue_stalled_barrier_per_issue_active.ratio", "stall_barrier", "ratio"),
    NcuMetric(
        "smsp__average_warps_issue_stalled_lg_throttle_per_issue_active.ratio", "stall_lg_throttle", "ratio"
    ),
    NcuMetric(
        "smsp__average_warps_issue_stalled_mio_throttle_per_issue_active.ratio", "stall_mio_throttle", "ratio"
    ),
    NcuMetric(
        "smsp__average_warps_issue_stalled_branch_resolving_per_issue_active.ratio",
        "stall_branch_resolving",
        "ratio",
    ),
    NcuMetric(
        "smsp__average_warps_issue_stalled_math_pipe_throttle_per_issue_active.ratio",
        "stall_math_pipe_throttle",
        "ratio",
    ),
    NcuMetric("smsp__sass_average_branch_targets_threads_uniform.pct", "branch_uniformity_pct", "pct"),
    NcuMetric("smsp__thread_inst_executed_per_inst_executed.ratio", "threads_per_warp_instruction", "ratio"),
    NcuMetric("sm__sass_thread_inst_executed_op_fadd_pred_on.sum", "fadd_thread_insts", "count"),
    NcuMetric("sm__sass_thread_inst_executed_op_fmul_pred_on.sum", "fmul_thread_insts", "count"),
    NcuMetric("sm__sass_thread_inst_executed_op_ffma_pred_on.sum", "ffma_thread_insts", "count"),
)

# Spellings that newer or older ncu releases use for the same counter, in the order they are
# preferred. `resolve_metrics` picks the first one `ncu --query-metrics` lists before the program
# runs; when that list cannot be had, ncu's rejection ("Failed to find metric") moves on to the next.
# "Warp Cycles Per Issued Instruction" (WarpStateStats) is spelled
# smsp__average_warps_active_per_issue_active.ratio in some releases' rule files and
# smsp__average_warp_latency_per_inst_issued.ratio in others.
ALTERNATIVES: dict[str, tuple[str, ...]] = {
    "dram__bytes_read.sum": ("dram__bytes_op_read.sum",),
    "dram__bytes_write.sum": ("dram__bytes_op_write.sum",),
    "sm__pipe_tensor_cycles_active.avg.pct_of_peak_sustained_active": (
        "sm__pipe_tensor_op_hmma_cycles_active.avg.pct_of_peak_sustained_active",
    ),
    "smsp__average_warps_active_per_issue_active.ratio": (
        "smsp__average_warp_latency_per_inst_issued.ratio",
    ),
}
BY_NCU_NAME: dict[str, NcuMetric] = {m.ncu_name: m for m in CURATED}
for _name, _alternatives in ALTERNATIVES.items():
    for _alternative in _alternatives:
        BY_NCU_NAME[_alternative] = BY_NCU_NAME[_name]
STALL_NAMES = tuple(m.short for m in CURATED if m.short.startswith("stall_"))
# Figures that add up over launches of one forward call; the rest are averaged per launch.
ADDITIVE = frozenset(m.short for m in CURATED if m.kind in ("time", "bytes")) | {
    "shared_load_bank_conflicts",
    "shared_store_bank_conflicts",
    "fadd_thread_insts",
    "fmul_thread_insts",
    "ffma_thread_insts",
}


def metrics_argument(names: list[str] | None = None) -> str:
    """The value of ncu's --metrics option (the curated set unless `names` is given)."""
    return ",".join(names if names is not None else [m.ncu_name for m in CURATED])


def metric_base(name: str) -> str:
    """'dram__bytes_read.sum' -> 'dram__bytes_read': the part ncu's metric lists name."""
    return name.split(".", 1)[0]


def spellings(name: str) -> tuple[str, ...]:
    """Every spelling of the curated metric `name` (its own first), in the order they are tried."""
    return (name, *ALTERNATIVES.get(name, ()))


# A metric name at the start of a line of `ncu --query-metrics` (plain or --csv): a unit prefix,
# a double underscore, then the counter (e.g. `dram__bytes_read`, `"sm__throughput"`).
_LISTED_METRIC = re.compile(r'^\s*"?([a-z][a-z0-9]*__[A-Za-z0-9_]+)')


def listed_metrics(query_output: str) -> set[str]:
    """Base metric names in what `ncu --query-metrics` printed; empty when it printed none."""
    found = set()
    for line in query_output.splitlines():
        match = _LISTED_METRIC.match(line)
        if match:
            found.add(metric_base(match.group(1)))
    return found


class MetricChoice(NamedTuple):
    requested: list[str]
    """One spelling per curated metric this ncu offers (or every first spelling, when unknown)."""
    unavailable: list[str]
    """Curated metrics (ncu names) none of whose spellings this ncu lists."""


def resolve_metrics(listed: set[str] | None) -> MetricChoice:
    """The spelling of each curated metric that this ncu lists, and the metrics it lists under no
    spelling, all decided in one pass before the profiled program runs. `listed` None or empty (the
    list could not be had): every first spelling, for ncu's own rejections to correct."""
    if not listed:
        return MetricChoice([m.ncu_name for m in CURATED], [])
    requested, unavailable = [], []
    for metric in CURATED:
        offered = next((n for n in spellings(metric.ncu_name) if metric_base(n) in listed), None)
        if offered is None:
            unavailable.append(metric.ncu_name)
        else:
            requested.append(offered)
    return MetricChoice(requested, unavailable)


def rejected_metrics(output: str, requested: list[str]) -> list[str]:
    """Requested metrics that ncu's "Failed to find metric" errors name (it prints either the name
    or a regex such as `regex:^dram__bytes_read\\.(sum|avg)$`)."""
    lines = [ln for ln in output.splitlines() if "Failed to find metric" in ln]
    rejected = []
    for name in requested:
        base = name.split(".", 1)[0]
        if any(re.search(rf"(?<![A-Za-z0-9_]){re.escape(base)}(?![A-Za-z0-9_])", ln) for ln in lines):
            rejected.append(name)
    return rejected


def next_metric_set(requested: list[str], rejected: list[str]) -> list[str]:
    """The set to retry with: each rejected metric replaced by its next untried spelling, or dropped."""
    out = []
    for name in requested:
        if name not in rejected:
            out.append(name)
            continue
        for original, alts in ALTERNATIVES.items():
            chain = [original, *alts]
            if name in chain and chain.index(name) + 1 < len(chain):
                out.append(chain[chain.index(name) + 1])
    return out
