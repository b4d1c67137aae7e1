"""Prompt files (agents/prompts/*.md) and their rendering with string.Template ($name fields).

string.Template rather than str.format because prompts quote CUDA and JSON, full of braces."""

from __future__ import annotations

from functools import cache
from importlib import resources
from string import Template

PROMPT_NAMES = (
    "coder_system",
    "coder_seed",
    "coder_repair",
    "coder_optimize",
    "judge_system",
    "judge_correction",
    "judge_optimization",
    "reminder_code",
    "reminder_json",
    "sandbox_rules",
    "format_cuda",
    "format_cpu",
    "coder_tuning",
)


@cache
def prompt_text(name: str) -> str:
    """The raw template text of one prompt file."""
    if name not in PROMPT_NAMES:
        raise KeyError(f"no prompt named {name!r}")
    return resources.files("kernelwright.agents").joinpath(f"prompts/{name}.md").read_text()


def render(name: str, **fields: object) -> str:
    """Fills every $field; a missing field is a programming error (KeyError), never silent."""
    return Template(prompt_text(name)).substitute({k: str(v) for k, v in fields.items()})


def template_fields(name: str) -> set[str]:
    """The $fields a prompt expects (the tests check every caller supplies exactly these)."""
    return set(Template(prompt_text(name)).get_identifiers())
