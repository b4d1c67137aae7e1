"""Theoretical occupancy: resident blocks per SM and the resource that limits them.

Per-architecture limits are those of the CUDA C++ Programming Guide, table "Technical
Specifications per Compute Capability" (max warps/blocks per SM, 64K registers per SM, shared
memory per SM and per block). The allocation rules follow NVIDIA's own calculator,
cuda_occupancy.h (CUDA 13.0): registers are allocated per warp in units of 256 and split over 4
SM sub-partitions; shared memory is allocated in 256-byte (sm_7x) / 128-byte (sm_8x+) units and
sm_80+ reserve 1 KiB per block for the driver.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Limiter = Literal["warps", "blocks", "registers", "shared"]


class ArchLimits(BaseModel):
    """Per-SM limits of one compute capability."""

    arch: str
    max_warps_per_sm: int
    max_blocks_per_sm: int
    max_shared_per_sm: int = Field(description="Bytes, at the largest carveout.")
    max_shared_per_block: int = Field(description="Bytes, with the opt-in attribute set.")
    shared_granularity: int
    reserved_shared_per_block: int
    registers_per_sm: int = 65536
    max_registers_per_block: int = 65536
    max_registers_per_thread: int = 255
    register_granularity: int = 256
    sub_partitions: int = 4
    max_threads_per_block: int = 1024


def _limits(arch: str, warps: int, blocks: int, smem_kib: int, block_kib: int) -> ArchLimits:
    major = int(arch.removeprefix("sm_")) // 10
    return ArchLimits(
        arch=arch,
        max_warps_per_sm=warps,
        max_blocks_per_sm=blocks,
        max_shared_per_sm=smem_kib * 1024,
        max_shared_per_block=block_kib * 1024,
        shared_granularity=256 if major == 7 else 128,
        reserved_shared_per_block=0 if major == 7 else 1024,
    )


ARCH_LIMITS: dict[str, ArchLimits] = {
    "sm_70": _limits("sm_70", 64, 32, 96, 96),
    "sm_75": _limits("sm_75", 32, 16, 64, 64),
    "sm_80": _limits("sm_80", 64, 32, 164, 163),
    "sm_86": _limits("sm_86", 48, 16, 100, 99),
    "sm_87": _limits("sm_87", 48, 16, 164, 163),
    "sm_89": _limits("sm_89", 48, 24, 100, 99),
    "sm_90": _limits("sm_90", 64, 32, 228, 227),
    "sm_100": _limits("sm_100", 64, 32, 228, 227),
    "sm_120": _limits("sm_120", 48, 24, 100, 99),
}


class Occupancy(BaseModel):
    """Theoretical occupancy of one launch configuration."""

    arch: str
    threads_per_block: int
    registers_per_thread: int
    shared_per_block: int
    blocks_per_sm: int
    active_warps_per_sm: int
    max_warps_per_sm: int
    occupancy_pct: float
    limiter: Limiter | None = Field(description="The binding limit; None when the block cannot launch.")
    limits: dict[str, int] = Field(description="Blocks per SM each resource alone would allow.")
    message: str = ""


def arch_limits(arch: str) -> ArchLimits:
    """Limits for 'sm_90', '9.0' or '90'; unknown future parts get the nearest older architecture."""
    key = arch if arch.startswith("sm_") else "sm_" + arch.replace(".", "")
    if key in ARCH_LIMITS:
        return ARCH_LIMITS[key]
    number = int(key.removeprefix("sm_").rstrip("a").rstrip("f") or 0)
    known = [a for a in ARCH_LIMITS if int(a.removeprefix("sm_")) <= number]
    if not known:
        raise ValueError(f"no occupancy limits known for {arch}")
    return ARCH_LIMITS[max(known, key=lambda a: int(a.removeprefix("sm_")))]


def _round_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


def _register_limit(lim: ArchLimits, regs: int, warps_per_block: int) -> int:
    if regs > lim.max_registers_per_thread:
        return 0
    regs_per_warp = _round_up(max(regs, 1) * 32, lim.register_granularity)
    # The hardware checks the per-block limit as if warps filled every sub-partition.
    if regs_per_warp * _round_up(warps_per_block, lim.sub_partitions) > lim.max_registers_per_block:
        return 0
    warps_per_partition = (lim.registers_per_sm // lim.sub_partitions) // regs_per_warp
    return (warps_per_partition * lim.sub_partitions) // warps_per_block


def _shared_limit(lim: ArchLimits, shared: int, max_blocks: int) -> int:
    allocated = _round_up(shared + lim.reserved_shared_per_block, lim.shared_granularity)
    if shared > lim.max_shared_per_block:
        return 0
    return lim.max_shared_per_sm // allocated if allocated else max_blocks


def occupancy(
    arch: str, threads_per_block: int, registers_per_thread: int, shared_per_block: int = 0
) -> Occupancy:
    """Blocks per SM for one block size, register count and (static + dynamic) shared memory."""
    lim = arch_limits(arch)
    warps_per_block = -(-threads_per_block // 32)
    limits = {
        "warps": lim.max_warps_per_sm // warps_per_block,
        "blocks": lim.max_blocks_per_sm,
        "registers": _register_limit(lim, registers_per_thread, warps_per_block),
        "shared": _shared_limit(lim, shared_per_block, lim.max_blocks_per_sm),
    }
    if threads_per_block > lim.max_threads_per_block or threads_per_block <= 0:
        limits["warps"] = 0
    blocks = min(limits.values())
    # Ties go to the hardware caps first: "warps" at 100% is the honest reading, not "registers".
    limiter: Limiter | None = next(
        k for k in ("warps", "blocks", "registers", "shared") if limits[k] == blocks
    )
    message = ""
    if blocks == 0:
        message = f"a block of {threads_per_block} threads cannot launch on {lim.arch}: too many {limiter}"
        limiter = limiter
    active = blocks * warps_per_block
    return Occupancy(
        arch=lim.arch,
        threads_per_block=threads_per_block,
        registers_per_thread=registers_per_thread,
        shared_per_block=shared_per_block,
        blocks_per_sm=blocks,
        active_warps_per_sm=active,
        max_warps_per_sm=lim.max_warps_per_sm,
        occupancy_pct=round(100.0 * active / lim.max_warps_per_sm, 2),
        limiter=limiter,
        limits=limits,
        message=message,
    )


def occupancy_table(
    arch: str,
    registers_per_thread: int,
    shared_per_block: int = 0,
    block_sizes: tuple[int, ...] = (64, 128, 256, 512, 1024),
) -> list[Occupancy]:
    """Occupancy for the usual block sizes; what `analyze` shows and the digest picks from."""
    return [occupancy(arch, b, registers_per_thread, shared_per_block) for b in block_sizes]
