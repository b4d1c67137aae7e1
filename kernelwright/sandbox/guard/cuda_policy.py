"""The PyTorch policy on the C++ side: the CUDA must hold a kernel, and at level 1 do the work itself.

A load_inline extension can "implement" the op without any kernel: its host function calls ATen
(`torch::matmul`, `at::relu`, `x.sum()`) or a CUDA library (cuBLAS, cuDNN), or only allocates the
output (KernelBench's result_reuse and zero_out adversarial kernels). The Python side sees a call
into the extension and is satisfied; these text rules look at what the C++ does.

- `no-cuda-kernel` (every level): CUDA sources are given but none defines a `__global__` function.
- `aten-op` (level 1): host C++ calls an ATen compute function or tensor method; allocation
  (`torch::empty`...), options, streams and device queries are glue.
- `library-op` (level 1): host C++ calls cuBLAS, cuBLASLt, cuDNN, cuFFT, cuSPARSE or cuSOLVER.

Like every policy rule these are off under allow_torch. Comments and strings are blanked first.
"""

from __future__ import annotations

import ast
import re

from kernelwright.contracts import GuardFinding
from kernelwright.sandbox.build.candidate_source import static_string
from kernelwright.sandbox.guard.cuda_rules import blank_comments_and_strings
from kernelwright.sandbox.guard.torch_names import CPP_COMPUTE_METHODS, CPP_GLUE

_GLOBAL = re.compile(r"\b__global__\b")
# torch::a::b::name<...>( : the namespace chain, the function, optional template arguments
_ATEN_CALL = re.compile(r"\b(torch|at)\s*::\s*((?:\w+\s*::\s*)*)(\w+)\s*(?:<[^<>;(){}]*>)?\s*\(")
_METHOD_CALL = re.compile(r"(?:\.|->)\s*(\w+)\s*(?:<[^<>;(){}]*>)?\s*\(")
_LIBRARY_CALL = re.compile(r"\b((?:cublas|cudnn|cufft|cusparse|cusolver)\w+)\s*\(")
# handles, streams and settings (cublasCreate, cudnnSetStream...) are not the computation itself
_LIBRARY_SETUP = re.compile(r"Create|Destroy|Set|Get")


def host_sources(tree: ast.Module, constants: dict[str, str]) -> list[str]:
    """The `cpp_sources` of every load_inline call (keyword or second positional argument): host
    C++ that the CUDA source list does not include."""
    found: list[str] = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", "")
        if name != "load_inline":
            continue
        arg = next((k.value for k in node.keywords if k.arg == "cpp_sources"), None)
        if arg is None and len(node.args) > 1:
            arg = node.args[1]
        items = arg.elts if isinstance(arg, ast.List | ast.Tuple) else [arg] if arg is not None else []
        found += [text for item in items if (text := static_string(item, constants))]
    return list(dict.fromkeys(found))


def cuda_policy(cuda_sources: list[str], cpp_sources: list[str], level: int) -> list[GuardFinding]:
    """Findings of the three rules over the candidate's CUDA sources and load_inline host sources."""
    found: list[GuardFinding] = []
    codes = [blank_comments_and_strings(source) for source in cuda_sources]
    if codes and not any(_GLOBAL.search(code) for code in codes):
        message = (
            "The CUDA source defines no __global__ kernel: host code that allocates the output or calls "
            "ATen or a library is not a custom kernel; write the computation as a __global__ function."
        )
        found.append(GuardFinding(rule="no-cuda-kernel", line=None, where="cuda", message=message))
    if level > 1:
        return found
    labelled = [(f"CUDA source {i + 1}" if len(codes) > 1 else "CUDA source", c) for i, c in enumerate(codes)]
    labelled += [(f"C++ source {i + 1}", blank_comments_and_strings(s)) for i, s in enumerate(cpp_sources)]
    for label, code in labelled:
        found += _compute_calls(code, label)
    return found


def _compute_calls(code: str, label: str) -> list[GuardFinding]:
    found: list[GuardFinding] = []
    hits: list[tuple[int, str, str]] = []
    for match in _ATEN_CALL.finditer(code):
        namespaces = [n.strip() for n in match.group(2).split("::") if n.strip()]
        function = match.group(3)
        device_management = "cuda" in namespaces and "blas" not in namespaces
        if function[:1].islower() and function not in CPP_GLUE and not device_management:
            hits.append((match.start(), "aten-op", "::".join([match.group(1), *namespaces, function])))
    for match in _METHOD_CALL.finditer(code):
        if match.group(1) in CPP_COMPUTE_METHODS:
            hits.append((match.start(), "aten-op", f".{match.group(1)}()"))
    for match in _LIBRARY_CALL.finditer(code):
        if not _LIBRARY_SETUP.search(match.group(1)):
            hits.append((match.start(), "library-op", match.group(1)))
    for start, rule, what in sorted(hits):
        line = code.count("\n", 0, start) + 1
        kind = "ATen" if rule == "aten-op" else "a CUDA library"
        message = (
            f"{label} line {line}: calls {what}, which computes in {kind}; this level-1 task's op must be "
            "done by your own __global__ kernel (allocating the output with torch::empty is fine)."
        )
        found.append(GuardFinding(rule=rule, line=line, where="cuda", message=message))
    return found
