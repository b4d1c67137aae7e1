"""Parses what `ncu --csv` prints: the wide `--page raw` table (quoted header row, units row, one
row per kernel launch, a column per metric) and the long `--page details` table (one row per
metric with "Metric Name", "Metric Unit", "Metric Value"). Tolerates the target's own output and
`==PROF==` lines around the table, thousands separators, "n/a" and scaled units, and the fixed columns
of older releases (a "Kernel Time" column after "Kernel Name", NVTX range columns before it)."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict

from pydantic import BaseModel, Field

from kernelwright.profiler.ncu_metrics import ADDITIVE, BY_NCU_NAME

_TIME_TO_MS = {
    "nsecond": 1e-6,
    "ns": 1e-6,
    "usecond": 1e-3,
    "us": 1e-3,
    "msecond": 1.0,
    "ms": 1.0,
    "second": 1e3,
    "s": 1e3,
}
_BYTES = {
    "byte": 1,
    "kbyte": 1e3,
    "mbyte": 1e6,
    "gbyte": 1e9,
    "tbyte": 1e12,
    "kibyte": 1024,
    "mibyte": 1024**2,
    "gibyte": 1024**3,
}
# The fixed columns every release prints; others (e.g. 2020-2021's "Kernel Time" timestamp, NVTX
# ranges) may sit among them, so they are found by name, never by position.
_REQUIRED_COLUMNS = ("ID", "Kernel Name")


class NcuParseError(ValueError):
    """The text holds no ncu CSV table."""


class KernelLaunch(BaseModel):
    """One profiled launch: metric values in base units (time in ms, sizes in bytes)."""

    launch_id: int
    kernel: str
    block_size: str = ""
    grid_size: str = ""
    values: dict[str, float | None] = Field(default_factory=dict, description="Keyed by ncu metric name.")


def parse_number(text: str) -> float | None:
    """'1,234.5' -> 1234.5; 'n/a', '' and other non-numbers -> None."""
    cleaned = text.strip().replace(",", "")
    if not cleaned or cleaned.lower() in ("n/a", "nan", "-"):
        return None
    try:
        return float(cleaned)
    except ValueError:
        return None


def to_base_unit(value: float | None, unit: str) -> float | None:
    """Times to milliseconds, sizes to bytes; rates and percentages unchanged."""
    if value is None:
        return None
    key = unit.strip().lower()
    if key in _TIME_TO_MS:
        return value * _TIME_TO_MS[key]
    if key in _BYTES:
        return value * _BYTES[key]
    return value


def kernel_base_name(name: str) -> str:
    """'void ns::add<float>(float *, int)' -> 'add'; 'relu_kernel' stays."""
    head = name.split("(", 1)[0].strip()
    head = re.sub(r"<.*>$", "", head).strip()
    head = head.split()[-1] if head.split() else head
    return head.rsplit("::", 1)[-1]


def _table_rows(text: str) -> list[list[str]]:
    start = next((i for i, ln in enumerate(text.splitlines()) if ln.startswith('"ID",')), None)
    if start is None:
        raise NcuParseError('no ncu CSV table in the output (no header row starting with "ID")')
    lines = [ln for ln in text.splitlines()[start:] if ln.startswith('"')]
    return list(csv.reader(io.StringIO("\n".join(lines))))


def parse_ncu_csv(text: str) -> list[KernelLaunch]:
    """Launches in the order ncu reports them, from either CSV layout."""
    rows = _table_rows(text)
    header = rows[0]
    if header[0] != "ID" or any(name not in header for name in _REQUIRED_COLUMNS):
        raise NcuParseError(f"unexpected ncu CSV header: {header[:5]}")
    if "Metric Name" in header and "Metric Value" in header:
        return _parse_long(header, rows[1:])
    return _parse_wide(header, rows[1:])


def _launch_id(cell: str) -> int | None:
    return int(cell) if cell.strip().isdigit() else None


def _parse_wide(header: list[str], rows: list[list[str]]) -> list[KernelLaunch]:
    units: list[str] = [""] * len(header)
    launches = []
    col = {name: i for i, name in enumerate(header)}
    for row in rows:
        if len(row) != len(header):
            continue
        launch_id = _launch_id(row[0])
        if launch_id is None:
            if not row[0].strip():  # the units row has an empty ID
                units = row
            continue
        values = {
            name: to_base_unit(parse_number(row[i]), units[i])
            for i, name in enumerate(header)
            if "__" in name  # metric columns; the fixed columns carry no double underscore
        }
        launches.append(
            KernelLaunch(
                launch_id=launch_id,
                kernel=kernel_base_name(row[col["Kernel Name"]]),
                block_size=row[col["Block Size"]] if "Block Size" in col else "",
                grid_size=row[col["Grid Size"]] if "Grid Size" in col else "",
                values=values,
            )
        )
    return launches


def _parse_long(header: list[str], rows: list[list[str]]) -> list[KernelLaunch]:
    col = {name: i for i, name in enumerate(header)}
    by_id: dict[int, KernelLaunch] = {}
    for row in rows:
        if len(row) != len(header) or (launch_id := _launch_id(row[0])) is None:
            continue
        launch = by_id.setdefault(
            launch_id,
            KernelLaunch(
                launch_id=launch_id,
                kernel=kernel_base_name(row[col["Kernel Name"]]),
                block_size=row[col["Block Size"]] if "Block Size" in col else "",
                grid_size=row[col["Grid Size"]] if "Grid Size" in col else "",
            ),
        )
        unit = row[col["Metric Unit"]] if "Metric Unit" in col else ""
        launch.values[row[col["Metric Name"]]] = to_base_unit(parse_number(row[col["Metric Value"]]), unit)
    return [by_id[k] for k in sorted(by_id)]


def aggregate_per_kernel(launches: list[KernelLaunch], calls: int = 1) -> dict[str, dict[str, float]]:
    """Per kernel, in the curated short names: additive figures (time, bytes, counts) summed and
    divided by `calls` (so they are per forward call), rates and percentages averaged per launch;
    'launches_per_call' added. Metrics every launch reported as n/a are left out."""
    grouped: dict[str, list[KernelLaunch]] = defaultdict(list)
    for launch in launches:
        grouped[launch.kernel].append(launch)
    out: dict[str, dict[str, float]] = {}
    for kernel in sorted(grouped):
        figures: dict[str, float] = {"launches_per_call": len(grouped[kernel]) / max(calls, 1)}
        for ncu_name, metric in BY_NCU_NAME.items():
            seen = [v for launch in grouped[kernel] if (v := launch.values.get(ncu_name)) is not None]
            if not seen:
                continue
            if metric.short in ADDITIVE:
                figures[metric.short] = sum(seen) / max(calls, 1)
            else:
                figures[metric.short] = sum(seen) / len(seen)
        out[kernel] = figures
    return out
