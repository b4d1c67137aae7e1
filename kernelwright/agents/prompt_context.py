"""What every Coder prompt of one task's run states besides the attempt at hand: the target, the
sandbox's rules (from the same SandboxConfig that judges the candidates), the accepted formats, the
tuning syntax, and the best stored kernels of similar tasks.

The examples are chosen when a run starts and their attempt ids kept in the run's config
(EXAMPLES_KEY), so a resumed run shows the same ones (its replayed prompts match) while a batch's
later tasks see the kernels its earlier tasks won."""

from __future__ import annotations

from collections.abc import Sequence

from kernelwright.agents.examples import examples_of, pick_examples
from kernelwright.agents.prompting import render
from kernelwright.agents.round_plan import PromptContext
from kernelwright.agents.rules import candidate_format, sandbox_rules, torch_policy
from kernelwright.agents.wiring import sandbox_config_for
from kernelwright.contracts import Task
from kernelwright.gpu.target import Target
from kernelwright.interfaces import StoreReader

EXAMPLES_TOKENS = 1500
"""Token budget of the example kernels (a quarter of the prompt budget when that is smaller)."""
EXAMPLES_KEY = "example_attempts"


def choose_example_ids(
    task: Task, target: Target, store: StoreReader, prompt_tokens: int | None = None
) -> list[int]:
    """At a run's start: the stored attempts its prompts will show as examples."""
    budget = EXAMPLES_TOKENS if prompt_tokens is None else min(EXAMPLES_TOKENS, prompt_tokens // 4)
    return [s.id for s in pick_examples(store, task, _preferred_gpu(target), budget)]


def prompt_context(
    task: Task, target: Target, *, store: StoreReader | None = None, example_ids: Sequence[int] = ()
) -> PromptContext:
    examples = examples_of(store, example_ids, task, _preferred_gpu(target)) if store and example_ids else ""
    config = sandbox_config_for(target)
    return PromptContext(
        gpu_facts=target.facts,
        rules=sandbox_rules(task, target, config),
        policy=torch_policy(task.level, target, config),
        candidate_format=candidate_format(target),
        tuning=render("coder_tuning"),
        examples=examples,
    )


def _preferred_gpu(target: Target) -> str | None:
    """Kernels measured on the target's GPU come first; compile-only has no GPU to prefer."""
    return None if target.compile_only else target.gpu_name
