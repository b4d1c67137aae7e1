"""Kernel parameter lists read from CUDA source, and Python arguments packed to match them.

`cuLaunchKernel` copies each argument from a pointer with the size the cubin declares, so a
Python int passed where the kernel takes `long long` and packed as a 32-bit int would silently
read garbage. Typing every argument by the kernel's declared parameter type, and refusing what
does not fit, turns that class of bug into an exception that names the kernel and the argument.
"""

from __future__ import annotations

import ctypes
import re
import struct
from dataclasses import dataclass
from typing import Any

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_KERNEL = re.compile(
    r"__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?(?:static\s+|inline\s+|__noinline__\s+)*void\s+"
    r"(?:__launch_bounds__\s*\([^)]*\)\s*)?(\w+)\s*\(([^)]*)\)",
)
_QUALIFIERS = re.compile(r"\b(const|volatile|__restrict__|__restrict|restrict|register|struct)\b")

# Declared scalar type (qualifiers removed, whitespace collapsed) -> ctypes type. LP64 (Linux).
SCALAR_CTYPES: dict[str, type[ctypes._SimpleCData[Any]]] = {
    "bool": ctypes.c_bool,
    "char": ctypes.c_byte,
    "signed char": ctypes.c_byte,
    "unsigned char": ctypes.c_ubyte,
    "int8_t": ctypes.c_int8,
    "uint8_t": ctypes.c_uint8,
    "short": ctypes.c_int16,
    "unsigned short": ctypes.c_uint16,
    "int16_t": ctypes.c_int16,
    "uint16_t": ctypes.c_uint16,
    "int": ctypes.c_int32,
    "signed": ctypes.c_int32,
    "signed int": ctypes.c_int32,
    "unsigned": ctypes.c_uint32,
    "unsigned int": ctypes.c_uint32,
    "int32_t": ctypes.c_int32,
    "uint32_t": ctypes.c_uint32,
    "long": ctypes.c_int64,
    "long int": ctypes.c_int64,
    "unsigned long": ctypes.c_uint64,
    "long long": ctypes.c_int64,
    "long long int": ctypes.c_int64,
    "unsigned long long": ctypes.c_uint64,
    "unsigned long long int": ctypes.c_uint64,
    "int64_t": ctypes.c_int64,
    "uint64_t": ctypes.c_uint64,
    "size_t": ctypes.c_uint64,
    "ptrdiff_t": ctypes.c_int64,
    "float": ctypes.c_float,
    "double": ctypes.c_double,
    "half": ctypes.c_uint16,
    "__half": ctypes.c_uint16,
}
_FLOATS = {"float", "double", "half", "__half"}
_HALVES = {"half", "__half"}


class KernelArgumentError(TypeError):
    """Arguments of a `launch` do not match the kernel's declared parameters."""


@dataclass(frozen=True)
class KernelParam:
    name: str
    ctype: str
    """The declared type, qualifiers removed: 'float*', 'long long', 'size_t'."""
    pointer: bool


def parse_kernel_params(cuda_source: str) -> dict[str, list[KernelParam]]:
    """Each `__global__` function's parameters, keyed by the name written in the source."""
    text = _COMMENT.sub(" ", cuda_source)
    kernels: dict[str, list[KernelParam]] = {}
    for match in _KERNEL.finditer(text):
        name, plist = match.group(1), match.group(2).strip()
        params = [] if plist in ("", "void") else [_parse_param(p, i) for i, p in enumerate(plist.split(","))]
        kernels[name] = params
    return kernels


def _parse_param(decl: str, index: int) -> KernelParam:
    decl = re.sub(r"=.*$", "", decl)  # default arguments
    decl = re.sub(r"\[[^\]]*\]", "*", decl)  # `float x[]` is a pointer
    pointer = "*" in decl or "&" in decl
    words = _QUALIFIERS.sub(" ", decl.replace("*", " * ").replace("&", " & ")).split()
    names = [w for w in words if w not in ("*", "&")]
    type_words = names
    name = f"arg{index}"
    if len(names) >= 2 and names[-1] not in SCALAR_CTYPES and " ".join(names) not in SCALAR_CTYPES:
        name, type_words = names[-1], names[:-1]
    ctype = " ".join(type_words) + ("*" if pointer else "")
    return KernelParam(name=name, ctype=ctype, pointer=pointer)


def pack_args(
    kernel: str, params: list[KernelParam], args: tuple[Any, ...], *, device_type: str = "cuda"
) -> list[Any]:
    """ctypes values for `args`, one per parameter; raises KernelArgumentError naming what is wrong.

    Pointer parameters take tensors on `device_type` (or None for a null pointer); scalars take
    Python numbers that fit the declared type exactly (no silent truncation of floats to ints)."""
    if len(args) != len(params):
        raise KernelArgumentError(
            f"kernel '{kernel}' takes {len(params)} argument(s) ({_signature(params)}), got {len(args)}."
        )
    return [
        _pack_one(kernel, i, p, a, device_type) for i, (p, a) in enumerate(zip(params, args, strict=True))
    ]


def _pack_one(kernel: str, index: int, param: KernelParam, arg: Any, device_type: str) -> Any:
    where = f"argument {index} ('{param.name}': {param.ctype}) of kernel '{kernel}'"
    if param.pointer:
        if arg is None:
            return ctypes.c_void_p(0)
        device = getattr(getattr(arg, "device", None), "type", None)
        if not hasattr(arg, "data_ptr") or device is None:
            raise KernelArgumentError(f"{where} must be a tensor, got {type(arg).__name__}.")
        if device != device_type:
            raise KernelArgumentError(f"{where} must be a {device_type} tensor, got one on '{device}'.")
        return ctypes.c_void_p(arg.data_ptr())
    ctype = SCALAR_CTYPES.get(param.ctype)
    if ctype is None:
        raise KernelArgumentError(
            f"{where} has a type launch() cannot pass; use pointers and plain scalar types."
        )
    if hasattr(arg, "data_ptr"):
        raise KernelArgumentError(f"{where} is a scalar; pass a Python number, not a tensor.")
    if param.ctype in _FLOATS:
        if not isinstance(arg, int | float) or isinstance(arg, bool):
            raise KernelArgumentError(f"{where} must be a number, got {type(arg).__name__}.")
        if param.ctype in _HALVES:
            return ctype(struct.unpack("<H", struct.pack("<e", float(arg)))[0])
        return ctype(float(arg))
    if isinstance(arg, float) or not hasattr(arg, "__index__"):
        raise KernelArgumentError(f"{where} must be an integer, got {type(arg).__name__} {arg!r}.")
    value = int(arg)
    if param.ctype != "bool":
        bits = ctypes.sizeof(ctype) * 8
        signed = ctype(-1).value == -1
        low, high = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
        if not low <= value <= high:
            raise KernelArgumentError(f"{where}: {value} does not fit in {param.ctype}.")
    return ctype(value)


def _signature(params: list[KernelParam]) -> str:
    return ", ".join(f"{p.ctype} {p.name}" for p in params) or "none"
