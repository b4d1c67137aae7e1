"""Prompt files: each renders with exactly the fields its caller passes, and the worked example in
the Coder's seed prompt is a real candidate: NVRTC compiles it and the static guard passes it."""

from __future__ import annotations

import pytest

from kernelwright.agents.parsing import extract_code, fenced_blocks
from kernelwright.agents.prompting import PROMPT_NAMES, prompt_text, render, template_fields
from kernelwright.contracts import Candidate

# The fields round_plan.py / coder.py / judge.py pass; a prompt asking for another one would raise.
CALLER_FIELDS = {
    "coder_system": set(),
    "judge_system": set(),
    "coder_seed": {"task_key", "task_source", "gpu_facts", "rules", "candidate_format", "tuning", "examples"},
    "coder_repair": {
        "task_key",
        "task_source",
        "gpu_facts",
        "rules",
        "code",
        "status",
        "error_summary",
        "guard_findings",
        "diagnosis",
    },
    "coder_optimize": {
        "task_key",
        "task_source",
        "gpu_facts",
        "rules",
        "parent_label",
        "parent_summary",
        "parent_code",
        "history",
        "plan",
        "tuning",
        "examples",
    },
    "judge_correction": {
        "task_key",
        "task_source",
        "code",
        "status",
        "error_summary",
        "guard_findings",
        "history",
    },
    "judge_optimization": {
        "task_key",
        "task_source",
        "gpu_facts",
        "policy",
        "best_summary",
        "best_code",
        "runner_up",
        "history",
        "current_summary",
        "current_code",
        "digest",
        "plans_wanted",
    },
    "reminder_code": {"reason"},
    "reminder_json": {"reason"},
    "sandbox_rules": {
        "trials",
        "shape_trial",
        "tolerances",
        "torch_policy",
        "timing_calls",
        "timing_seconds",
        "speedup_cap",
        "compile_target",
    },
    "format_cuda": set(),
    "format_cpu": set(),
    "coder_tuning": set(),
}


@pytest.mark.parametrize("name", PROMPT_NAMES)
def test_prompt_fields_match_their_callers(name: str) -> None:
    assert template_fields(name) == CALLER_FIELDS[name]
    text = render(name, **{f: f"<{f}>" for f in CALLER_FIELDS[name]})
    assert "$" not in text.replace("$$", "")
    for f in CALLER_FIELDS[name]:
        assert f"<{f}>" in text


def test_judge_prompts_ask_for_the_documented_json_fields() -> None:
    correction = prompt_text("judge_correction")
    for field in ("critical_issue", "why_it_matters", "minimal_fix_hint"):
        assert f'"{field}"' in correction
    optimization = prompt_text("judge_optimization")
    for field in (
        "plans",
        "bottleneck",
        "evidence",
        "metric",
        "value",
        "reading",
        "method",
        "plan",
        "parent",
    ):
        assert f'"{field}"' in optimization


def test_seed_example_compiles_with_nvrtc_and_passes_the_guard() -> None:
    from kernelwright.kernelbench import find_task
    from kernelwright.sandbox.guard.policy import check
    from kernelwright.sandbox.guard.static_check import static_verdict

    blocks = [body for tag, body in fenced_blocks(prompt_text("format_cuda")) if tag == "python"]
    assert len(blocks) == 1  # the ONE worked example
    example = extract_code(prompt_text("format_cuda"))
    assert "CudaModule(CUDA_SOURCE)" in example
    task = find_task("level1/13_SiLU")  # the example implements exactly this reference
    candidate = Candidate(source=example)
    assert check(task, candidate) == []
    verdict = static_verdict(task, candidate, arch="sm_90")
    assert verdict.status.value == "ok", verdict.log
    assert verdict.kernel_names == ["silu_kernel"] and verdict.resources[0].registers_per_thread > 0
