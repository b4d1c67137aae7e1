"""What the Coder is told about the sandbox, rendered from the SandboxConfig that judges its
candidates (agents/wiring.py builds both from the Target): tolerances, trials, the PyTorch policy of
the task's level, timing, the speedup cap and the compile target. One source of truth, so a prompt
never states a rule the sandbox does not apply, or misses one it does."""

from __future__ import annotations

import torch

from kernelwright.agents.prompting import render
from kernelwright.contracts import Task
from kernelwright.gpu.target import Target
from kernelwright.sandbox.config import SandboxConfig
from kernelwright.sandbox.judge.compare import DEFAULT_TOLERANCE

_DTYPE_NAMES = {torch.float32: "float32", torch.float16: "float16", torch.bfloat16: "bfloat16",
                torch.float64: "float64"}  # fmt: skip


def sandbox_rules(task: Task, target: Target, config: SandboxConfig) -> str:
    """The "Rules the sandbox applies" section of the Coder's prompts for `task` on `target`."""
    return render(
        "sandbox_rules",
        trials=config.trials,
        shape_trial=", plus one trial with the task's sizes changed (do not hard-code shapes)"
        if config.shape_trial
        else "",
        tolerances=tolerance_text(task),
        torch_policy=torch_policy(task.level, target, config),
        timing_calls=config.timing_min_calls,
        timing_seconds=f"{config.timing_min_seconds:g}",
        speedup_cap=f"{config.speedup_suspicious:g}",
        compile_target=compile_target(target),
    )


def candidate_format(target: Target) -> str:
    """The candidate-format section: CUDA (native or load_inline) on a GPU target, CPU code on the CPU."""
    return render("format_cpu" if target.device == "cpu" else "format_cuda")


def tolerance_text(task: Task) -> str:
    if task.atol is not None or task.rtol is not None:
        atol = task.atol if task.atol is not None else DEFAULT_TOLERANCE[torch.float32][0]
        rtol = task.rtol if task.rtol is not None else DEFAULT_TOLERANCE[torch.float32][1]
        return f"this task sets atol {atol:g}, rtol {rtol:g}"
    return (
        "; ".join(
            f"{_DTYPE_NAMES[dtype]} atol {atol:g}, rtol {rtol:g}"
            for dtype, (atol, rtol) in DEFAULT_TOLERANCE.items()
        )
        + " (by the output's dtype; fp32 math with TF32 off on both sides)"
    )


def torch_policy(level: int, target: Target, config: SandboxConfig) -> str:
    if target.allow_torch or config.allow_torch:
        return "this run allows PyTorch ops to do the work; every other rule still applies."
    if target.device == "cpu":
        return (
            "forward must do the work in your own C++ (load_inline); PyTorch may only allocate, view, "
            "reshape and make tensors contiguous."
        )
    if level <= 1:
        return (
            f"a level-{max(level, 1)} task is one operator, which your own kernels must compute: no PyTorch "
            "math in forward (matmul, conv, activations, reductions, tensor arithmetic); allocation "
            "(torch.empty*), views, reshapes, .contiguous() and sizes are fine. Your kernels must take "
            f"at least {config.launch_min_own_fraction:.0%} of forward's GPU kernel time; cuBLAS, cuDNN "
            "or ATen kernels doing the work are a rejection."
        )
    return (
        f"a level-{level} task may keep heavy PyTorch layers (a convolution or GEMM through cuDNN or "
        "cuBLAS), but forward must launch at least one kernel of your own, and your kernels must take "
        f"at least {config.launch_min_own_fraction_fused:.0%} of forward's GPU kernel time: fuse the "
        "operations around the heavy ones into your kernels."
    )


def compile_target(target: Target) -> str:
    if target.device == "cpu":
        return "this machine's CPU (no CUDA)"
    wgmma = " (the 'a' target: wgmma and TMA instructions are available)" if target.arch.endswith("a") else ""
    nothing_runs = (
        "; compile-only: candidates are compiled and checked, not run" if target.compile_only else ""
    )
    return f"{target.arch} with NVRTC{wgmma}{nothing_runs}"
