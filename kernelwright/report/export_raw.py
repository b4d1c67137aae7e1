"""`kernelwright export --as cupy|pycuda`: the stored kernel as a plain Python module for code
outside PyTorch.

The module embeds the CUDA source and exposes each `__global__` function as a Python function taking
cupy arrays (or pycuda GPUArrays / device pointers) and Python numbers, packed by the kernel's
declared parameter types, so a Python int where the kernel takes `long long` is passed as 8 bytes.
What cannot be exported automatically is the glue around the launches (output allocation, grid
sizes): ModelNew.forward is PyTorch code, so its text is copied into the module's docstring as the
recipe. A `load_inline` candidate's host wrappers are C++ against torch's API; only its device code
(kernels, `__device__` functions, constants) is kept, as kernelwright's static checks keep it.
"""

from __future__ import annotations

import ast
import keyword
import textwrap
from typing import Literal

from kernelwright.errors import KernelwrightError
from kernelwright.report.export_common import compile_switches, cuda_sources_of, template

RawFormat = Literal["cupy", "pycuda"]

# Declared scalar type -> the numpy type that packs it (LP64, as the sandbox's launcher packs it).
_NUMPY_SCALARS = {
    "bool": "uint8", "char": "int8", "signed char": "int8", "unsigned char": "uint8",
    "int8_t": "int8", "uint8_t": "uint8", "short": "int16", "unsigned short": "uint16",
    "int16_t": "int16", "uint16_t": "uint16", "int": "int32", "signed": "int32",
    "signed int": "int32", "unsigned": "uint32", "unsigned int": "uint32", "int32_t": "int32",
    "uint32_t": "uint32", "long": "int64", "long int": "int64", "unsigned long": "uint64",
    "long long": "int64", "long long int": "int64", "unsigned long long": "uint64",
    "unsigned long long int": "uint64", "int64_t": "int64", "uint64_t": "uint64",
    "size_t": "uint64", "ptrdiff_t": "int64", "float": "float32", "double": "float64",
    "half": "float16", "__half": "float16",
}  # fmt: skip


def device_source(code: str) -> str:
    """The CUDA source a raw module compiles: native sources as written, load_inline device code."""
    from kernelwright.sandbox.build.candidate_source import detect_build, extract_device_code

    try:
        sources = cuda_sources_of(code)
        compat = detect_build(code) == "compat"
    except KernelwrightError as err:
        raise KernelwrightError(f"The stored kernel cannot be read statically: {err}") from None
    if not sources:
        raise KernelwrightError(
            "The stored best kernel holds no CUDA source (a PyTorch-level rewrite); "
            "only `--as files` or `--as torch-op` can export it."
        )
    text = "\n\n".join(sources).strip() + "\n"
    return extract_device_code(text) if compat else text


def kernel_table(
    source: str, switches: tuple[str, ...] = ()
) -> tuple[dict[str, list[tuple[str, str]]], dict[str, str]]:
    """(kernel -> [(param name, packing)], kernel -> cubin entry symbol), read and compiled here.

    Packing is 'pointer' or a numpy scalar type name. NVRTC runs on the CPU, so a source that does
    not compile is refused at export time instead of at the user's first call."""
    from kernelwright.sandbox.build.compile import compile_cuda
    from kernelwright.sandbox.runner.kernel_params import parse_kernel_params

    result = compile_cuda(source, "sm_90", switches)
    if not result.ok:
        first = result.log.strip().splitlines()[0] if result.log.strip() else "no log"
        raise KernelwrightError(f"The stored kernel's CUDA source does not compile with NVRTC: {first}")
    params = parse_kernel_params(source)
    table: dict[str, list[tuple[str, str]]] = {}
    for name in result.kernel_names:
        declared = params.get(name.split("<")[0], [])
        table[name] = [
            (p.name, "pointer" if p.pointer else _NUMPY_SCALARS.get(p.ctype, f"unsupported:{p.ctype}"))
            for p in declared
        ]
    return table, dict(result.symbols)


def forward_recipe(code: str) -> str:
    """ModelNew.forward's source text (how the candidate allocates and launches), or a note."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return "(model_new.py did not parse)"
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == "ModelNew":
            for item in node.body:
                if isinstance(item, ast.FunctionDef) and item.name == "forward":
                    segment = ast.get_source_segment(code, item) or "(no source)"
                    # the segment's first line lost its indentation; the others kept theirs
                    return textwrap.dedent(" " * item.col_offset + segment)
    return "(model_new.py has no ModelNew.forward)"


def raw_module(kind: RawFormat, code: str, fields: dict[str, str]) -> str:
    """The text of `cupy_kernels.py` or `pycuda_kernels.py` for candidate `code`."""
    source, switches = device_source(code), compile_switches(code)
    table, symbols = kernel_table(source, switches)
    options = ("--std=c++17" if kind == "cupy" else "-std=c++17", *switches)
    recipe = "\n".join(("    " + line).rstrip() for line in forward_recipe(code).splitlines())
    return template(f"{kind}_kernels.py.txt").substitute(
        fields,
        cuda_source=_source_literal(source),
        options=repr(options) if kind == "cupy" else repr(list(options)),
        kernels=repr(table),
        symbols=repr(symbols),
        recipe=recipe.replace('"""', "'''"),
        first_kernel=next(iter(table), "kernel"),
        pack_code=template("raw_pack.py.txt").template.strip(),
        functions="\n\n\n".join(_kernel_function(name, params) for name, params in table.items()),
    )


def _source_literal(source: str) -> str:
    if '"""' in source or source.endswith("\\"):
        return repr(source)
    return 'r"""\n' + source + '"""'


_RESERVED = {"grid", "block", "shared_mem", "stream", "np"}
# Names the module itself defines; a kernel so named is reached through launch() only.
_MODULE_NAMES = {"launch", "pack", "module", "np", "KERNELS", "SYMBOLS", "OPTIONS", "CUDA_SOURCE"}


def _kernel_function(name: str, params: list[tuple[str, str]]) -> str:
    """A named Python function for a kernel whose name is an identifier (templates keep `launch`)."""
    if not name.isidentifier() or keyword.iskeyword(name) or name in _MODULE_NAMES or name.startswith("_"):
        return f"# {name}: call launch({name!r}, grid, block, args)"
    args: list[str] = []
    for i, (param, _) in enumerate(params):
        arg = param if param.isidentifier() and not keyword.iskeyword(param) else f"arg{i}"
        while arg in _RESERVED or arg in args:
            arg += "_"
        args.append(arg)
    signature = ", ".join(f"{a}: {packing}" for a, (_, packing) in zip(args, params, strict=True)) or "none"
    head = ", ".join([*args, "*", "grid", "block", "shared_mem=0", "stream=None"])
    call = ", ".join(args) + ("," if len(args) == 1 else "")
    return (
        f"def {name}({head}):\n"
        f'    """Launches {name}({signature})."""\n'
        f"    launch({name!r}, grid, block, ({call}), shared_mem, stream)"
    )
