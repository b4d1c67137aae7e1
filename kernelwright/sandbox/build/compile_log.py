"""Reading compiler output: per-kernel resources from ptxas `-v`, and error logs trimmed for the Coder.

NVRTC and nvcc print the same ptxas lines, so one parser serves both backends (a test checks the two
agree). Error logs are cut to the first few diagnostics, because a model given 200 cascading errors
fixes none of them; each kept diagnostic carries its source line number and the offending line.
"""

from __future__ import annotations

import re

from kernelwright.contracts import KernelResources

_ENTRY = re.compile(r"Compiling entry function '([^']+)' for '(sm_\w+)'")
_FRAME = re.compile(r"(\d+) bytes stack frame, (\d+) bytes spill stores, (\d+) bytes spill loads")
_REGS = re.compile(r"Used (\d+) registers")
_SMEM = re.compile(r"(\d+) bytes smem")
_CMEM = re.compile(r"(\d+) bytes cmem\[\d+\]")
_DIAG = re.compile(r"^(?P<file>[^\s()]+)\((?P<line>\d+)\): (?P<kind>(?:catastrophic )?error|warning)\b")
_NVCC_DIAG = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+):(?:\d+:)? (?P<kind>fatal error|error|warning)\b")

MAX_DIAGNOSTICS = 5
MAX_LOG_CHARS = 4000


def parse_ptxas_resources(log: str, arch: str) -> list[KernelResources]:
    """One KernelResources per `Compiling entry function` block of a ptxas `-v` log, in log order.

    Constant memory is the kernel's own banks plus the module-wide banks ptxas reports on its
    `bytes gmem` line; ptxas for sm_90 prints neither (compile.py then reads the cubin)."""
    blocks: list[tuple[str, dict[str, int]]] = []
    module_cmem = 0
    for line in log.splitlines():
        entry = _ENTRY.search(line)
        if entry:
            blocks.append((entry.group(1), {"registers_per_thread": 0}))
            continue
        if "bytes gmem" in line:
            module_cmem += sum(int(c) for c in _CMEM.findall(line))
            continue
        if not blocks:
            continue
        fields = blocks[-1][1]
        frame = _FRAME.search(line)
        if frame:
            fields["local_bytes"] = int(frame.group(1))
            fields["spill_stores_bytes"] = int(frame.group(2))
            fields["spill_loads_bytes"] = int(frame.group(3))
        regs = _REGS.search(line)
        if regs:
            fields["registers_per_thread"] = int(regs.group(1))
            smem = _SMEM.search(line)
            fields["shared_bytes"] = int(smem.group(1)) if smem else 0
            cmem = [int(c) for c in _CMEM.findall(line)]
            if cmem:
                fields["constant_bytes"] = sum(cmem)
    for _, fields in blocks:
        if "constant_bytes" in fields:
            fields["constant_bytes"] += module_cmem
    return [KernelResources(name=name, arch=arch, **fields) for name, fields in blocks]


def trim_error_log(log: str, source: str, *, max_diagnostics: int = MAX_DIAGNOSTICS) -> str:
    """The first `max_diagnostics` errors of an NVRTC or nvcc log, each with its source line.

    NVRTC echoes the offending line with a caret; where a log does not, the line is added from
    `source`."""
    lines = [ln for ln in log.replace("\x00", "").splitlines() if not ln.startswith("ptxas info")]
    src_lines = source.splitlines()
    blocks: list[tuple[int, list[str]]] = []
    total_errors = 0
    for line in lines:
        diag = _DIAG.match(line) or _NVCC_DIAG.match(line)
        if diag:
            if "error" in diag.group("kind"):
                total_errors += 1
            if "error" not in diag.group("kind") or total_errors > max_diagnostics:
                blocks.append((0, []))  # a sink: warnings and errors beyond the cap are dropped
                continue
            blocks.append((int(diag.group("line")), [line]))
        elif blocks and blocks[-1][1] and line.strip() and not _is_summary(line):
            blocks[-1][1].append(line)
    kept = []
    for lineno, block in blocks:
        if not block:
            continue
        if len(block) == 1 and 0 < lineno <= len(src_lines):
            block.append(f"    {src_lines[lineno - 1].strip()}")  # the log did not echo the line
        kept.append("\n".join(block))
    if not kept:
        # Not a diagnostic format we know (linker, driver, internal error): keep the head verbatim.
        return "\n".join(ln for ln in lines if ln.strip())[:MAX_LOG_CHARS]
    if total_errors > max_diagnostics:
        kept.append(f"... and {total_errors - max_diagnostics} more error(s); fix the first ones first.")
    return "\n\n".join(kept)[:MAX_LOG_CHARS]


def _is_summary(line: str) -> bool:
    return "detected in the compilation of" in line or line.startswith("Compilation terminated")
