"""Reply parsing: code from fences (python-tagged first), JSON from a fence or a balanced object."""

from __future__ import annotations

import pytest

from kernelwright.agents.parsing import MalformedReply, extract_code, extract_json, fenced_blocks

MODEL = "class ModelNew(torch.nn.Module):\n    pass\n"


def test_python_tagged_block_wins_over_longer_untagged_block() -> None:
    text = f"```cuda\n// a long cuda listing\n{'x' * 400}\n```\nand\n```python\n{MODEL}```\n"
    assert extract_code(text) == MODEL


def test_untagged_block_with_model_new_is_taken() -> None:
    text = f"Sure:\n```\nimport torch\n{MODEL}```"
    assert "class ModelNew" in extract_code(text)


def test_tilde_fences_and_py_tag() -> None:
    assert extract_code(f"~~~py\n{MODEL}~~~\n") == MODEL


def test_no_fence_is_malformed_with_reason() -> None:
    with pytest.raises(MalformedReply, match="no fenced code block"):
        extract_code("I would write a kernel that uses shared memory.")


def test_unclosed_fence_is_reported_as_truncated() -> None:
    with pytest.raises(MalformedReply, match="never closes"):
        extract_code(f"```python\n{MODEL}")


def test_code_without_model_new_is_malformed() -> None:
    with pytest.raises(MalformedReply, match="ModelNew"):
        extract_code("```python\nprint('hi')\n```")


def test_json_from_fence_and_from_bare_object() -> None:
    assert extract_json('```json\n{"a": 1}\n```') == {"a": 1}
    assert extract_json('Reasoning {not json} then {"plan": "use float4", "n": [1, {"b": 2}]} end') == {
        "plan": "use float4",
        "n": [1, {"b": 2}],
    }


def test_json_braces_inside_strings_do_not_break_balance() -> None:
    text = 'x {"critical_issue": "missing } in kernel {", "why_it_matters": "w", "minimal_fix_hint": "h"}'
    assert extract_json(text)["critical_issue"] == "missing } in kernel {"


def test_broken_json_is_malformed() -> None:
    with pytest.raises(MalformedReply, match="no valid JSON"):
        extract_json('```json\n{"bottleneck": "memory", "plan": \n```')


def test_fenced_blocks_lists_tags_in_order() -> None:
    assert [t for t, _ in fenced_blocks("```json\n{}\n```\n```Python\nx\n```")] == ["json", "python"]
