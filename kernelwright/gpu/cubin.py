"""Static resource usage read straight from a cubin (CUDA ELF) with pyelftools; runs on any CPU.

Layout (as cuobjdump -elf shows it, and as open cubin tools such as CuAssembler's CuNVInfo decode
it): `.nv.info` and `.nv.info.<kernel>` hold EIATTR records `u8 format, u8 attribute, payload`;
format 4 (SVAL) carries a u16 size then `size` bytes, formats 1-3 a 2-byte inline value. Per
kernel, EIATTR_REGCOUNT (0x2f) and EIATTR_FRAME_SIZE (0x11) are `(u32 symbol index, u32 value)` in
`.nv.info`; older toolkits also put the register count in the top byte of `.text.<kernel>`'s
sh_info. Static shared memory is the size of `.nv.shared.<kernel>`, which on sm_90+ begins with
the driver's 1 KiB reserved window when the cubin declares `.nv.shared.reserved.0`; the parameter
constant bank is `.nv.constant0.<kernel>` (what ptxas calls cmem[0]). Spill bytes are not
recorded in the ELF: they come from the ptxas report of the same compile.
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import Iterator

from elftools.common.exceptions import ELFError
from elftools.elf.elffile import ELFFile
from elftools.elf.sections import SymbolTableSection
from pydantic import BaseModel, Field

from kernelwright.contracts import KernelResources

EIATTR_MAX_THREADS = 0x05
EIATTR_FRAME_SIZE = 0x11
EIATTR_MIN_STACK_SIZE = 0x12
EIATTR_MAX_STACK_SIZE = 0x23
EIATTR_REGCOUNT = 0x2F
EIFMT_SVAL = 4
RESERVED_SHARED_BYTES = 1024


class CubinError(ValueError):
    """The bytes are not a CUDA ELF this parser understands."""


class CubinKernel(BaseModel):
    """What the cubin says about one kernel."""

    symbol: str = Field(description="Entry symbol as in the ELF (mangled for C++ kernels).")
    registers_per_thread: int
    shared_bytes: int = Field(0, description="Static shared memory per block, without the driver's reserve.")
    local_bytes: int = Field(0, description="Stack frame per thread (local arrays and spills).")
    constant_bytes: int = Field(0, description="Size of the kernel's constant bank 0 (cmem[0]).")
    max_threads_per_block: int | None = None
    code_bytes: int = 0


class CubinInfo(BaseModel):
    kernels: list[CubinKernel]
    user_constant_bytes: int = Field(0, description="Module-wide __constant__ data (cmem[3]).")
    module_constant_bytes: int = Field(
        0,
        description="All module-wide constant banks (`.nv.constantN`: __constant__ data, compiler constants).",
    )


def _records(data: bytes) -> Iterator[tuple[int, bytes]]:
    pos = 0
    while pos + 4 <= len(data):
        fmt, attr = data[pos], data[pos + 1]
        if fmt == EIFMT_SVAL:
            (size,) = struct.unpack_from("<H", data, pos + 2)
            yield attr, data[pos + 4 : pos + 4 + size]
            pos += 4 + size
        else:
            yield attr, data[pos + 2 : pos + 4]
            pos += 4


def _per_symbol(data: bytes, attr: int) -> dict[int, int]:
    out: dict[int, int] = {}
    for code, payload in _records(data):
        if code == attr and len(payload) >= 8:
            sym, value = struct.unpack_from("<II", payload)
            out[sym] = value
    return out


def _max_threads(data: bytes) -> int | None:
    for code, payload in _records(data):
        if code == EIATTR_MAX_THREADS and len(payload) >= 12:
            x, y, z = struct.unpack_from("<III", payload)
            return int(x * y * z)
    return None


def parse_cubin(cubin: bytes) -> CubinInfo:
    """Per-kernel registers, shared, local and constant memory; raises CubinError on non-cubins."""
    try:
        elf = ELFFile(io.BytesIO(cubin))
        sections = {s.name: s for s in elf.iter_sections()}
        symtab = elf.get_section_by_name(".symtab")
    except (ELFError, struct.error) as err:
        raise CubinError(f"not a cubin: {err}") from err
    if not isinstance(symtab, SymbolTableSection):
        raise CubinError("not a cubin: no symbol table")
    symbols = list(symtab.iter_symbols())
    info = sections[".nv.info"].data() if ".nv.info" in sections else b""
    regs, frames = _per_symbol(info, EIATTR_REGCOUNT), _per_symbol(info, EIATTR_FRAME_SIZE)
    reserve = RESERVED_SHARED_BYTES if any(n.startswith(".nv.shared.reserved") for n in sections) else 0
    kernels = []
    for index, sym in enumerate(symbols):
        if sym["st_info"]["type"] != "STT_FUNC" or f".text.{sym.name}" not in sections:
            continue
        text = sections[f".text.{sym.name}"]
        shared = sections.get(f".nv.shared.{sym.name}")
        const0 = sections.get(f".nv.constant0.{sym.name}")
        kinfo = sections.get(f".nv.info.{sym.name}")
        kernels.append(
            CubinKernel(
                symbol=sym.name,
                registers_per_thread=regs.get(index, text.header.sh_info >> 24),
                shared_bytes=max(0, shared.header.sh_size - reserve) if shared is not None else 0,
                local_bytes=frames.get(index, 0),
                constant_bytes=const0.header.sh_size if const0 is not None else 0,
                max_threads_per_block=_max_threads(kinfo.data()) if kinfo is not None else None,
                code_bytes=text.header.sh_size,
            )
        )
    const3 = sections.get(".nv.constant3")
    module = sum(s.header.sh_size for n, s in sections.items() if re.fullmatch(r"\.nv\.constant\d+", n))
    return CubinInfo(
        kernels=kernels,
        user_constant_bytes=const3.header.sh_size if const3 is not None else 0,
        module_constant_bytes=module,
    )


def kernel_resources(
    cubin: bytes,
    arch: str,
    *,
    names: dict[str, str] | None = None,
    ptxas: list[KernelResources] | None = None,
) -> list[KernelResources]:
    """KernelResources from the cubin, named by `names` (symbol -> launch name) and with spill
    figures taken from the compile's ptxas report when given (the ELF does not record them)."""
    names = names or {}
    spills = {r.name: r for r in ptxas or []}
    out = []
    info = parse_cubin(cubin)
    for k in info.kernels:
        name = names.get(k.symbol, k.symbol)
        reported = spills.get(name) or spills.get(k.symbol)
        out.append(
            KernelResources(
                name=name,
                arch=arch,
                registers_per_thread=k.registers_per_thread,
                spill_stores_bytes=reported.spill_stores_bytes if reported else 0,
                spill_loads_bytes=reported.spill_loads_bytes if reported else 0,
                shared_bytes=k.shared_bytes,
                local_bytes=k.local_bytes,
                constant_bytes=k.constant_bytes + info.module_constant_bytes,
                max_threads_per_block=k.max_threads_per_block,
            )
        )
    return out
