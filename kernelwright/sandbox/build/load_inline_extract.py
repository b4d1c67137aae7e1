"""Device code out of a `load_inline` CUDA source, so NVRTC can compile it in well under a second.

A KernelBench compat file builds a whole torch extension (torch/extension.h, host wrappers, pybind):
minutes of nvcc on a 2-core machine, for a kernel NVRTC compiles in 0.07 s. For static analysis
only the device side matters, so this keeps kernels, `__device__` functions, structs, constants and
macros, and blanks host functions (anything taking or returning a torch type, any function without
a device qualifier), torch/pybind includes and `PYBIND11_MODULE` blocks. Blanked text keeps its
newlines and the prelude ends with `#line 1`, so compiler errors point at the original lines.
Template kernels get an explicit `float` instantiation so that ptxas reports their resources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

# Headers that hold only host code or torch declarations; NVRTC cannot and need not read them.
_KEEP_INCLUDE = re.compile(
    r"#\s*include\s*[<\"](cuda_fp16\.h|cuda_bf16\.h|cuda_fp8\.h|mma\.h|cooperative_groups(\.h|/[\w/.]+)"
    r"|cuda/[\w/.]+|cuda_pipeline\w*\.h|cuda_awbarrier\w*\.h|math_constants\.h|cuda_runtime\.h)[>\"]"
)
_TORCH = re.compile(r"\b(torch|at|c10|pybind11|py)::|\bPYBIND11_|\bTORCH_|\bAT_DISPATCH|\bAT_ASSERT|Tensor\b")
_DEVICE = re.compile(r"\b(__global__|__device__|__constant__)\b")
_TYPE_DECL = re.compile(r"^\s*(template\s*<[^{]*>\s*)?(struct|class|union|enum|typedef|using)\b")
_BLOCK_SCOPE = re.compile(r"^\s*(namespace\b[\w:\s]*|extern\s+\"C(\+\+)?\"\s*)$")
_TEMPLATE_KERNEL = re.compile(
    r"template\s*<\s*(?:typename|class)\s+(\w+)\s*>\s*__global__\s+[\w\s]*?\bvoid\s+(\w+)\s*\(([^)]*)\)", re.S
)

PRELUDE = """#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <cuda/std/cstdint>
#include <cuda/std/climits>
#ifndef FLT_MAX
#define FLT_MAX 3.402823466e+38F
#endif
#ifndef FLT_MIN
#define FLT_MIN 1.175494351e-38F
#endif
#ifndef DBL_MAX
#define DBL_MAX 1.7976931348623158e+308
#endif
#ifndef FLT_EPSILON
#define FLT_EPSILON 1.192092896e-07F
#endif
#ifndef DBL_EPSILON
#define DBL_EPSILON 2.2204460492503131e-016
#endif
#ifndef M_E
#define M_E 2.7182818284590452354
#endif
#ifndef M_LN2
#define M_LN2 0.69314718055994530942
#endif
#ifndef M_LOG2E
#define M_LOG2E 1.4426950408889634074
#endif
#ifndef M_SQRT2
#define M_SQRT2 1.41421356237309504880
#endif
#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif
#ifndef NAN
#define NAN __int_as_float(0x7fffffff)
#endif
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#ifndef M_SQRT1_2
#define M_SQRT1_2 0.70710678118654752440
#endif
#ifndef M_2_SQRTPI
#define M_2_SQRTPI 1.12837916709551257390
#endif
#ifndef assert
#define assert(e) ((void)0)
#endif
"""


# Device code written against torch's headers may use std:: math and algorithms, which nvcc allows
# in device code. libcu++ provides device versions; this costs NVRTC ~2 s, so it is added only on a
# retry, when the first compile complained about namespace std.
STD_SHIM = """#include <cuda/std/cmath>
#include <cuda/std/cstddef>
#include <cuda/std/limits>
#include <cuda/std/utility>
#include <cuda/std/type_traits>
#if __has_include(<cuda/std/algorithm>)
#include <cuda/std/algorithm>
#else
#include <cuda/std/__algorithm/min.h>
#include <cuda/std/__algorithm/max.h>
#endif
namespace std { using namespace cuda::std; }
"""
NEEDS_STD = re.compile(
    r'namespace "std" has no member|identifier "std" is undefined|name followed by "::" must be'
)


@dataclass
class DeviceExtraction:
    """The device-only source, and what was removed (to judge whether an error is ours or the kernel's)."""

    code: str
    kernels: list[str] = field(default_factory=list)
    removed: str = ""


def extract_device_code(load_inline_src: str) -> str:
    """The device code of a `load_inline` cuda_sources string, ready for NVRTC."""
    return extract(load_inline_src).code


def extract(src: str, *, std_shim: bool = False) -> DeviceExtraction:
    """Device code of `src`; `std_shim` adds libcu++ as namespace std (see STD_SHIM)."""
    out = list(src)
    removed: list[str] = []
    _filter_region(src, 0, len(src), out, removed)
    body = "".join(out)
    kernels = re.findall(r"__global__\s+[\w\s]*?\bvoid\s+(\w+)\s*\(", body)
    instantiations = [
        f"template __global__ void {name}<float>({_substitute(tparam, params)});"
        for tparam, name, params in _TEMPLATE_KERNEL.findall(body)
    ]
    prelude = PRELUDE + (STD_SHIM if std_shim else "")
    code = prelude + '#line 1 "candidate.cu"\n' + body + "\n" + "\n".join(instantiations) + "\n"
    return DeviceExtraction(code=code, kernels=kernels, removed="\n".join(removed))


def _substitute(type_param: str, params: str) -> str:
    return re.sub(rf"\b{re.escape(type_param)}\b", "float", params)


def _filter_region(src: str, start: int, end: int, out: list[str], removed: list[str]) -> None:
    """Blanks the host-side top-level chunks of src[start:end] in `out`, recursing into namespaces."""
    for chunk_start, chunk_end, body_open in _top_level_chunks(src, start, end):
        text = src[chunk_start:chunk_end]
        header = src[chunk_start:body_open] if body_open is not None else text
        if body_open is not None and _BLOCK_SCOPE.match(header.strip()):
            _filter_region(src, body_open + 1, chunk_end - 1, out, removed)
            continue
        if not _keep(text, header):
            removed.append(text)
            for i in range(chunk_start, chunk_end):
                if out[i] != "\n":
                    out[i] = " "


def _keep(text: str, header: str) -> bool:
    stripped = header.lstrip()
    if stripped.startswith("#"):
        if re.match(r"#\s*include\b", stripped):
            return bool(_KEEP_INCLUDE.match(stripped))
        return not _TORCH.search(stripped) or stripped.startswith("#define")
    if _TORCH.search(header) or (_TORCH.search(text) and not _DEVICE.search(header)):
        return False
    if re.match(r"using\s+namespace\s+(torch|at|c10|pybind11)\b", stripped):
        return False
    if _DEVICE.search(header) or _TYPE_DECL.match(header):
        return True
    is_function_definition = "(" in header and text.rstrip().endswith("}")
    return not is_function_definition


def _top_level_chunks(src: str, start: int, end: int) -> list[tuple[int, int, int | None]]:
    """(start, end, index of the opening brace or None) of each top-level declaration or directive."""
    chunks: list[tuple[int, int, int | None]] = []
    i, depth, chunk_start, body_open = start, 0, start, None
    at_line_start = True
    while i < end:
        c = src[i]
        if c == "\n":
            at_line_start = True
            i += 1
            continue
        if at_line_start and depth == 0 and c == "#" and not src[chunk_start:i].strip():
            j = _directive_end(src, i, end)
            chunks.append((i, j, None))
            i = chunk_start = j
            continue
        if not c.isspace():
            at_line_start = False
        skip = _skip_literal_or_comment(src, i, end)
        if skip != i:
            i = skip
            continue
        if c == "{":
            if depth == 0 and body_open is None:
                body_open = i
            depth += 1
        elif c == "}":
            depth -= 1
            if depth == 0 and not _TYPE_DECL.match(src[chunk_start : body_open or i]):
                chunks.append((chunk_start, i + 1, body_open))
                chunk_start, body_open = i + 1, None
        elif c == ";" and depth == 0:
            chunks.append((chunk_start, i + 1, body_open))
            chunk_start, body_open = i + 1, None
        i += 1
    if src[chunk_start:end].strip():
        chunks.append((chunk_start, end, body_open))
    return [(s, e, b) for s, e, b in chunks if src[s:e].strip()]


def _directive_end(src: str, i: int, end: int) -> int:
    while i < end:
        nl = src.find("\n", i, end)
        if nl == -1:
            return end
        if src[nl - 1] != "\\":
            return nl
        i = nl + 1
    return end


def _skip_literal_or_comment(src: str, i: int, end: int) -> int:
    """Index just past a comment, string or char literal starting at i; i itself when none starts."""
    two = src[i : i + 2]
    if two == "//":
        nl = src.find("\n", i, end)
        return end if nl == -1 else nl
    if two == "/*":
        close = src.find("*/", i + 2, end)
        return end if close == -1 else close + 2
    if src[i] in "\"'":
        quote, j = src[i], i + 1
        while j < end and src[j] != quote and src[j] != "\n":
            j += 2 if src[j] == "\\" else 1
        return j + 1
    return i


def extraction_failed(extraction: DeviceExtraction, nvrtc_log: str) -> bool:
    """Whether an NVRTC error on extracted code is due to the extraction rather than the kernel.

    A missing header, a torch name, a macro-like name (which a dropped header may define) or an
    identifier that only the removed host code declared means the full build should decide;
    anything else (a typo, a type error) is the kernel's own error, reported without the build."""
    if not extraction.kernels:
        return True
    if re.search(r"(could not|cannot) open source file", nvrtc_log) or _TORCH.search(nvrtc_log):
        return True
    undefined = re.findall(r'identifier "(\w+)" is undefined|"(\w+)" is not a member', nvrtc_log)
    names = {a or b for a, b in undefined}
    # An ALL-CAPS name is a macro, most likely from a header torch/extension.h pulled in.
    if any(name.isupper() and len(name) > 2 for name in names):
        return True
    return any(re.search(rf"\b{re.escape(name)}\b", extraction.removed) for name in names)
