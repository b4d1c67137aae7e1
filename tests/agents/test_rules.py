"""The rules the Coder is told come from the SandboxConfig that judges its candidates: change a
setting and the prompt changes with it; the level's PyTorch policy and the target's format follow."""

from __future__ import annotations

from kernelwright.agents.parsing import extract_code
from kernelwright.agents.prompting import prompt_text
from kernelwright.agents.rules import candidate_format, sandbox_rules
from kernelwright.agents.wiring import sandbox_config_for
from kernelwright.contracts import Candidate
from kernelwright.gpu.target import compile_only_target, cpu_target
from kernelwright.kernelbench import find_task
from kernelwright.sandbox.config import SandboxConfig
from kernelwright.sandbox.guard.policy import check

HOPPER = compile_only_target("sm_90a")


def test_the_rules_are_the_sandbox_settings() -> None:
    relu = find_task("level1/19_ReLU")
    default = sandbox_rules(relu, HOPPER, sandbox_config_for(HOPPER))
    assert "5 trials" in default and "plus one trial with the task's sizes changed" in default
    assert "float32 atol 0.0001, rtol 0.0001" in default and "float16 atol 0.01" in default
    assert "more than 10x faster than PyTorch eager is marked suspicious" in default
    assert (
        "at least 100 calls (and 1 s)" in default and "at least 50% of forward's GPU kernel time" in default
    )
    assert "sm_90a with NVRTC (the 'a' target: wgmma and TMA" in default

    changed = SandboxConfig(trials=7, shape_trial=False, speedup_suspicious=4.0, timing_min_calls=30,
                            launch_min_own_fraction=0.8)  # fmt: skip
    text = sandbox_rules(relu, HOPPER, changed)
    assert "7 trials" in text and "sizes changed" not in text and "more than 4x faster" in text
    assert "at least 30 calls" in text and "at least 80% of forward's GPU kernel time" in text


def test_each_level_is_told_its_own_pytorch_policy() -> None:
    config = sandbox_config_for(HOPPER)
    level1 = sandbox_rules(find_task("level1/19_ReLU"), HOPPER, config)
    assert "no PyTorch math in forward" in level1
    level2 = sandbox_rules(find_task("level2/7_Conv2d_Bias_Tanh"), HOPPER, config)
    assert "may keep heavy PyTorch layers" in level2 and "at least 20%" in level2
    assert "no PyTorch math" not in level2
    on_cpu = cpu_target(allow_torch=True)
    assert "this run allows PyTorch ops" in sandbox_rules(find_task("level1/19_ReLU"), on_cpu, config)


def test_a_task_tolerance_replaces_the_table() -> None:
    task = find_task("level1/19_ReLU").model_copy(update={"atol": 0.05, "rtol": None})
    assert "this task sets atol 0.05, rtol 0.0001" in sandbox_rules(task, HOPPER, sandbox_config_for(HOPPER))


def test_the_cpu_format_example_is_a_candidate_the_cpu_guard_accepts() -> None:
    assert "CudaModule" in candidate_format(HOPPER) and "CudaModule" not in candidate_format(
        cpu_target(allow_torch=True)
    )
    example = extract_code(prompt_text("format_cpu"))
    assert check(find_task("level1/13_SiLU"), Candidate(source=example), allow_torch=True) == []


def test_the_judge_is_told_the_levels_pytorch_policy_the_coder_is_told() -> None:
    from kernelwright.agents.prompt_context import prompt_context

    relu, conv = find_task("level1/19_ReLU"), find_task("level2/7_Conv2d_Bias_Tanh")
    for task in (relu, conv):
        context = prompt_context(task, HOPPER)
        assert context.policy and context.policy in context.rules
    assert "no PyTorch math in forward" in prompt_context(relu, HOPPER).policy
    assert "may keep heavy PyTorch layers" in prompt_context(conv, HOPPER).policy
