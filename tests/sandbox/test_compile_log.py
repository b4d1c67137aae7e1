"""Parsing ptxas reports and trimming compiler logs.

The ptxas lines below are written from the documented `ptxas -v` format (the older form that
still prints `cmem[N]`, as CUDA 12 and sm_80 do), since CUDA 13 for sm_90 prints fewer fields."""

from __future__ import annotations

from kernelwright.sandbox.build.compile_log import parse_ptxas_resources, trim_error_log

PTXAS_WITH_SPILLS = """\
ptxas info    : 0 bytes gmem, 64 bytes cmem[3]
ptxas info    : Compiling entry function '_Z6spillyPfi' for 'sm_80'
ptxas info    : Function properties for _Z6spillyPfi
    48 bytes stack frame, 40 bytes spill stores, 36 bytes spill loads
ptxas info    : Used 255 registers, 4096 bytes smem, 364 bytes cmem[0], 8 bytes cmem[2]
ptxas info    : Compiling entry function 'tiny' for 'sm_80'
ptxas info    : Function properties for tiny
    0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
ptxas info    : Used 6 registers, 352 bytes cmem[0]
"""


def test_ptxas_report_with_spills_and_constant_banks() -> None:
    spilly, tiny = parse_ptxas_resources(PTXAS_WITH_SPILLS, "sm_80")
    assert (spilly.name, spilly.registers_per_thread, spilly.shared_bytes) == ("_Z6spillyPfi", 255, 4096)
    assert (spilly.local_bytes, spilly.spill_stores_bytes, spilly.spill_loads_bytes) == (48, 40, 36)
    assert spilly.constant_bytes == 364 + 8 + 64
    assert (tiny.registers_per_thread, tiny.shared_bytes, tiny.constant_bytes) == (6, 0, 352 + 64)


def test_no_entries_no_resources() -> None:
    assert parse_ptxas_resources("ptxas info    : 0 bytes gmem\n", "sm_90") == []


def test_host_compiler_style_errors_get_their_source_line() -> None:
    source = "int a;\nint b = nope;\n"
    log = "candidate.cu:2:9: error: 'nope' was not declared in this scope\n"
    trimmed = trim_error_log(log, source)
    assert trimmed.splitlines() == [
        "candidate.cu:2:9: error: 'nope' was not declared in this scope",
        "    int b = nope;",
    ]


def test_warnings_are_dropped_and_unknown_formats_kept_verbatim() -> None:
    log = 'candidate.cu(1): warning #177-D: variable "x" was declared but never referenced\n  int x;\n'
    assert trim_error_log(log + "candidate.cu(2): error: bad\n  y\n", "int x;\ny\n").startswith(
        "candidate.cu(2)"
    )
    assert trim_error_log("nvlink fatal: something odd\n\x00", "") == "nvlink fatal: something odd"
