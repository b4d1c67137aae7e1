"""The target of a command: where its candidates are judged, decided once before anything runs.

A Target says what each attempt records as its GPU, what the prompts say about the hardware, and
which evaluator judges candidates (agents/wiring.py reads it): the compile-only static check on this
machine's CPU, Sandboxes on local GPUs, or a Ray cluster.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from kernelwright.contracts import GPUIdentity
from kernelwright.errors import ConfigError
from kernelwright.gpu.arch import arch_for_capability
from kernelwright.gpu.nvml import list_gpus
from kernelwright.gpu.specs import lookup_spec

COMPILE_ONLY_GPU = "none"
CPU_DEVICE_NAME = "cpu"
DEFAULT_ARCH = "sm_90a"


class Target(BaseModel):
    """Where candidates are judged. Built once per command; never changed afterwards."""

    model_config = {"extra": "forbid", "frozen": True}

    compile_only: bool = Field(description="Guard and compile on the CPU with NVRTC; no candidate runs.")
    arch: str = Field(description="Architecture kernels are compiled for, e.g. 'sm_90'.")
    gpu_name: str = Field(
        COMPILE_ONLY_GPU,
        description="Recorded on each attempt: the GPU model, 'ray:<address>', or 'none' for compile-only.",
    )
    gpu_indices: tuple[int, ...] = Field((), description="Local GPUs (NVML indices) that judge candidates.")
    ray_address: str | None = Field(None, description="The Ray cluster that judges candidates instead.")
    facts: str = Field(description="What the prompts say about the target hardware.")
    device: Literal["cuda", "cpu"] = Field(
        "cuda", description="Where candidates run: a GPU, or this machine's CPU (the sandbox's CPU protocol)."
    )
    allow_torch: bool = Field(
        False, description="PyTorch ops may do the work (the guard's PyTorch rule and launch check are off)."
    )


def cpu_target(*, allow_torch: bool) -> Target:
    """Candidates judged by the sandbox's CPU protocol on this machine: the whole loop without a GPU.
    Timings are CPU timings and are stored under the GPU name 'cpu', apart from every GPU's."""
    kind = (
        "PyTorch code or C++ (torch.utils.cpp_extension.load_inline) is accepted"
        if allow_torch
        else "the work must be done by your own C++ (torch.utils.cpp_extension.load_inline with "
        "cpp_sources and functions)"
    )
    facts = (
        "No GPU: candidates run on this machine's CPU on device='cpu' tensors, and are verified and timed "
        f"there against the reference; {kind}. CUDA kernels cannot run here."
    )
    return Target(
        compile_only=False,
        arch=DEFAULT_ARCH,
        gpu_name=CPU_DEVICE_NAME,
        facts=facts,
        device="cpu",
        allow_torch=allow_torch,
    )


def compile_only_target(arch: str) -> Target:
    return Target(compile_only=True, arch=arch, facts=gpu_facts(None, arch, compile_only=True))


def ray_target(address: str, arch: str) -> Target:
    return Target(
        compile_only=False,
        arch=arch,
        gpu_name=f"ray:{address}",
        ray_address=address,
        facts="A GPU of the Ray cluster (the node is chosen per evaluation).",
    )


def local_target(spec: str, arch: str, *, option: str = "--gpus") -> Target:
    """The local GPUs `spec` names ('all' or indices like '0,1'), all of one model; `arch` is used only
    when NVML does not report the GPU's compute capability. Call gpu.availability.require_gpu first:
    this reads NVML only."""
    found = list_gpus()
    indices = parse_gpus(spec, len(found), option=option)
    names = {found[i].name for i in indices}
    if len(names) > 1:
        raise ConfigError(
            f"{option} {spec} mixes GPU models ({', '.join(sorted(names))}); batch one model at a time."
        )
    gpu = found[indices[0]]
    own_arch = arch_for_capability(gpu.compute_capability) if gpu.compute_capability else arch
    return Target(
        compile_only=False,
        arch=own_arch,
        gpu_name=gpu.name,
        gpu_indices=tuple(indices),
        facts=gpu_facts(gpu, own_arch, compile_only=False),
    )


def parse_gpus(spec: str, available: int, *, option: str = "--gpus") -> list[int]:
    """'all' -> every visible index; '0,2' -> those (each must exist)."""
    if spec.strip().lower() == "all":
        return list(range(available))
    try:
        wanted = [int(part) for part in spec.split(",") if part.strip()]
    except ValueError as err:
        raise ConfigError(f"{option} takes 'all' or indices like '0,1', not {spec!r}.") from err
    bad = [i for i in wanted if not 0 <= i < available]
    if bad or not wanted:
        raise ConfigError(f"{option} {spec!r} names GPUs this machine does not have (it has {available}).")
    return sorted(set(wanted))


def gpu_facts(gpu: GPUIdentity | None, arch: str, *, compile_only: bool) -> str:
    """The target-GPU paragraph of the prompts."""
    if compile_only or gpu is None:
        return f"Compile-only check: no GPU is attached; kernels are compiled for {arch} with NVRTC."
    facts = [f"{gpu.name}"]
    if gpu.compute_capability:
        facts.append(f"compute capability {gpu.compute_capability}")
    facts.append(f"kernels are compiled with NVRTC for {arch}")
    if gpu.sm_count:
        facts.append(f"{gpu.sm_count} SMs")
    if gpu.memory_mib:
        facts.append(f"{gpu.memory_mib // 1024} GiB memory")
    try:
        spec = lookup_spec(gpu.name)
    except Exception:  # the spec table is a nicety for the prompt, never a reason to fail the run
        spec = None
    if spec is not None:
        facts.append(f"peak DRAM bandwidth {spec.dram_bandwidth_gbs:g} GB/s")
        if spec.fp32_tflops:
            facts.append(f"peak FP32 {spec.fp32_tflops:g} TFLOP/s")
        tensor = [f"{name} {tflops:g}" for name, tflops in (("TF32", spec.tf32_tflops),
                  ("FP16", spec.fp16_tflops), ("BF16", spec.bf16_tflops)) if tflops]  # fmt: skip
        if tensor:
            facts.append(f"dense tensor-core peaks {', '.join(tensor)} TFLOP/s")
        if spec.l2_mib:
            facts.append(f"L2 {spec.l2_mib:g} MiB")
        if spec.smem_per_sm_kib:
            facts.append(f"{spec.smem_per_sm_kib} KiB shared memory per SM")
    # Every architecture since Maxwell: a 64K-entry register file per SM, at most 255 per thread.
    facts.append("65536 registers per SM, at most 255 per thread")
    return ", ".join(facts) + "."
