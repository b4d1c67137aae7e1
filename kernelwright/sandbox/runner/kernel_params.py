"""Kernel parameter lists read from CUDA source, and Python arguments packed to match them.

`cuLaunchKernel` copies each argument from a pointer with the size the cubin declares, so a
Python int passed where the kernel takes `long long` and packed as a 32-bit int would silently
read garbage. Typing every argument by the kernel's declared parameter type, and refusing what
does not fit, turns that class of bug into an exception that names the kernel and the argument.
"""

from __future__ import annotations

import ctypes
import functools
import re
import struct
from dataclasses import dataclass
from typing import Any, NamedTuple

_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_KERNEL = re.compile(
    r"__global__\s+(?:__launch_bounds__\s*\([^)]*\)\s*)?(?:static\s+|inline\s+|__noinline__\s+)*void\s+"
    r"(?:__launch_bounds__\s*\([^)]*\)\s*)?(\w+)\s*\(([^)]*)\)",
)
_QUALIFIERS = re.compile(r"\b(const|volatile|__restrict__|__restrict|restrict|register|struct)\b")

# Declared scalar type (qualifiers removed, whitespace collapsed) -> struct format at the declared
# width (LP64 Linux). Half precision travels as its 16-bit pattern.
SCALAR_FORMATS: dict[str, str] = {
    "bool": "?",
    "char": "b",
    "signed char": "b",
    "unsigned char": "B",
    "int8_t": "b",
    "uint8_t": "B",
    "short": "h",
    "unsigned short": "H",
    "int16_t": "h",
    "uint16_t": "H",
    "int": "i",
    "signed": "i",
    "signed int": "i",
    "unsigned": "I",
    "unsigned int": "I",
    "int32_t": "i",
    "uint32_t": "I",
    "long": "q",
    "long int": "q",
    "unsigned long": "Q",
    "long long": "q",
    "long long int": "q",
    "unsigned long long": "Q",
    "unsigned long long int": "Q",
    "int64_t": "q",
    "uint64_t": "Q",
    "size_t": "Q",
    "ptrdiff_t": "q",
    "float": "f",
    "double": "d",
    "half": "H",
    "__half": "H",
}
_FLOATS = {"float", "double", "half", "__half"}
_HALVES = {"half", "__half"}
_POINTER_FORMAT = "Q"
_AS_SIGNED = {"B": "b", "H": "h", "I": "i", "Q": "q"}
# cuda-bindings packs (value, type) pairs in C only for these (type, exact Python type) pairs; any
# other pair goes through ctypes.addressof, which fires an audit event per argument. Integers
# narrower than 32 bits ride in a c_int: the driver copies the declared size from the start of
# the slot, and on little-endian hosts that is the low bytes.
_WIRE_TYPES: dict[str, type[Any]] = {
    "?": ctypes.c_bool,
    "b": ctypes.c_byte,
    "h": ctypes.c_int,
    "i": ctypes.c_int,
    "q": ctypes.c_longlong,
    "f": ctypes.c_float,
    "d": ctypes.c_double,
    "P": ctypes.c_void_p,
}


class PackedArgs(NamedTuple):
    """A launch's arguments as plain Python values, typed three ways for the three loaders.

    No ctypes object is made, so packing raises no audit event (each one walks the candidate's
    frames in the sandbox, tens of microseconds per launch)."""

    values: tuple[int | float | bool, ...]
    """Pointers as unsigned addresses, integers reinterpreted as signed at their declared width."""
    formats: str
    """struct format characters at the declared widths ('P' for pointers): the kernel's layout."""

    @property
    def wire_types(self) -> tuple[type[Any], ...]:
        """The ctypes types cuda-bindings' `(values, types)` kernelParams form packs without ctypes."""
        return _wire_types(self.formats)

    def buffer(self) -> bytes:
        """The parameter block cuLaunchKernel's CU_LAUNCH_PARAM_BUFFER_POINTER expects (C alignment)."""
        return struct.pack("@" + self.formats, *self.values)

    def arg_bytes(self) -> list[bytes]:
        """Each argument's bytes as the kernel reads them (little-endian, declared width)."""
        return [
            struct.pack("<" + f.replace("P", "Q"), v) for f, v in zip(self.formats, self.values, strict=True)
        ]


class KernelArgumentError(TypeError):
    """Arguments of a `launch` do not match the kernel's declared parameters."""


@dataclass(frozen=True)
class KernelParam:
    name: str
    ctype: str
    """The declared type, qualifiers removed: 'float*', 'long long', 'size_t'."""
    pointer: bool


@functools.cache
def _wire_types(formats: str) -> tuple[type[Any], ...]:
    return tuple(_WIRE_TYPES[f] for f in formats)


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
    if len(names) >= 2 and names[-1] not in SCALAR_FORMATS and " ".join(names) not in SCALAR_FORMATS:
        name, type_words = names[-1], names[:-1]
    ctype = " ".join(type_words) + ("*" if pointer else "")
    return KernelParam(name=name, ctype=ctype, pointer=pointer)


def pack_args(
    kernel: str, params: list[KernelParam], args: tuple[Any, ...], *, device_type: str = "cuda"
) -> PackedArgs:
    """`args` typed by the kernel's parameters; raises KernelArgumentError naming what is wrong.

    Pointer parameters take tensors on `device_type` (or None for a null pointer); scalars take
    Python numbers that fit the declared type exactly (no silent truncation of floats to ints)."""
    if len(args) != len(params):
        raise KernelArgumentError(
            f"kernel '{kernel}' takes {len(params)} argument(s) ({_signature(params)}), got {len(args)}."
        )
    values: list[int | float | bool] = []
    formats: list[str] = []
    for i, (p, a) in enumerate(zip(params, args, strict=True)):
        value, fmt = _pack_one(kernel, i, p, a, device_type)
        values.append(value)
        formats.append(fmt)
    return PackedArgs(tuple(values), "".join(formats))


def _pack_one(
    kernel: str, index: int, param: KernelParam, arg: Any, device_type: str
) -> tuple[int | float | bool, str]:
    # Every launch runs this per argument inside the timed forward: messages are built only on
    # the way to an error, and per-type facts come from _scalar_plan's cache.
    if param.pointer:
        if arg is None:
            return 0, "P"
        device = getattr(getattr(arg, "device", None), "type", None)
        if device is None or not hasattr(arg, "data_ptr"):
            raise KernelArgumentError(
                f"{_where(kernel, index, param)} must be a tensor, got {type(arg).__name__}."
            )
        if device != device_type:
            raise KernelArgumentError(
                f"{_where(kernel, index, param)} must be a {device_type} tensor, got one on '{device}'."
            )
        return int(arg.data_ptr()), "P"
    plan = _scalar_plan(param.ctype)
    if plan is None:
        raise KernelArgumentError(
            f"{_where(kernel, index, param)} has a type launch() cannot pass; use pointers and plain scalar types."
        )
    kind, fmt, low, high = plan
    kind_of_arg = type(arg)
    if kind == "float":
        if kind_of_arg is float or kind_of_arg is int:
            value: float = float(arg)
        elif hasattr(arg, "data_ptr"):
            raise KernelArgumentError(
                f"{_where(kernel, index, param)} is a scalar; pass a Python number, not a tensor."
            )
        elif not isinstance(arg, int | float) or isinstance(arg, bool):
            raise KernelArgumentError(
                f"{_where(kernel, index, param)} must be a number, got {kind_of_arg.__name__}."
            )
        else:
            value = float(arg)
        if fmt == "h":  # half: its 16-bit pattern, read as signed
            (bits,) = struct.unpack("<h", struct.pack("<e", value))
            return int(bits), fmt
        return value, fmt
    if kind_of_arg is not int and kind_of_arg is not bool:
        if hasattr(arg, "data_ptr"):
            raise KernelArgumentError(
                f"{_where(kernel, index, param)} is a scalar; pass a Python number, not a tensor."
            )
        if isinstance(arg, float) or not hasattr(arg, "__index__"):
            raise KernelArgumentError(
                f"{_where(kernel, index, param)} must be an integer, got {kind_of_arg.__name__} {arg!r}."
            )
    number = int(arg)
    if fmt == "?":
        return bool(number), fmt
    if not low <= number <= high:
        raise KernelArgumentError(f"{_where(kernel, index, param)}: {number} does not fit in {param.ctype}.")
    if fmt in _AS_SIGNED:  # unsigned: the same bits, read as signed (what cuda-bindings packs in C)
        bits = struct.calcsize(fmt) * 8
        return (number - 2**bits if number >= 2 ** (bits - 1) else number), _AS_SIGNED[fmt]
    return number, fmt


def _where(kernel: str, index: int, param: KernelParam) -> str:
    return f"argument {index} ('{param.name}': {param.ctype}) of kernel '{kernel}'"


@functools.cache
def _scalar_plan(ctype: str) -> tuple[str, str, int, int] | None:
    """(float or int, struct format as packed, lowest and highest value) of a declared scalar type."""
    fmt = SCALAR_FORMATS.get(ctype)
    if fmt is None:
        return None
    if ctype in _FLOATS:
        return "float", ("h" if ctype in _HALVES else fmt), 0, 0
    if fmt == "?":
        return "int", fmt, 0, 1
    bits = struct.calcsize(fmt) * 8
    low, high = (0, 2**bits - 1) if fmt in _AS_SIGNED else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return "int", fmt, low, high


def _signature(params: list[KernelParam]) -> str:
    return ", ".join(f"{p.ctype} {p.name}" for p in params) or "none"
