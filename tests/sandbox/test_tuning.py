"""The TUNE declaration read statically and expanded into variants: byte-identical files apart from
the one literal, the variant limit and its deterministic sample, and malformed declarations."""

from __future__ import annotations

import ast

import pytest

from kernelwright.errors import KernelwrightError
from kernelwright.sandbox.build.tuning import MAX_VALUES, TuneError, parse_tune, render, variants

CANDIDATE = '''"""Tuned ReLU. Ünïcode shifts byte offsets from character offsets."""
import torch

PAD = "é"; TUNE = {"BLOCK": (128, 256, 512),
        "UNROLL": [1, 2, 4]}  # kept comment\r
OTHER = {"BLOCK": (1, 2)}


class ModelNew(torch.nn.Module):
    def forward(self, x):
        return x.clamp_min(0) * TUNE["UNROLL"] / TUNE["UNROLL"]
'''


def test_every_variant_differs_from_the_file_only_in_the_tune_literal() -> None:
    spec = parse_tune(CANDIDATE)
    assert spec is not None and spec.line == 4 and spec.combinations == 9
    assert spec.choices == {"BLOCK": (128, 256, 512), "UNROLL": (1, 2, 4)}
    head, _, rest = CANDIDATE.partition("TUNE = ")
    tail = rest[rest.index("  # kept comment") :]
    found = variants(CANDIDATE, limit=9)
    assert [v.values for v in found[:4]] == [
        {"BLOCK": 128, "UNROLL": 1},
        {"BLOCK": 128, "UNROLL": 2},
        {"BLOCK": 128, "UNROLL": 4},
        {"BLOCK": 256, "UNROLL": 1},
    ]
    for variant in found:
        assert variant.source == head + "TUNE = " + render(variant.values) + tail
        reread = parse_tune(variant.source)  # a variant is itself a (single-choice) declaration
        assert reread is not None and {k: v[0] for k, v in reread.choices.items()} == variant.values
    assert 'TUNE = {"BLOCK": 256, "UNROLL": 2}' not in found[4].source  # repr quoting, not the input's
    assert "TUNE = {'BLOCK': 256, 'UNROLL': 2}  # kept comment\r\nOTHER" in found[4].source


def test_a_file_without_tune_is_one_variant_itself() -> None:
    source = "import torch\nBLOCK = 256\n"
    assert parse_tune(source) is None
    [only] = variants(source)
    assert only.values == {} and only.source == source
    assert variants("def broken(:\n")[0].source == "def broken(:\n"  # the guard reports syntax


def test_beyond_the_limit_the_sample_is_the_first_the_last_and_an_even_spread() -> None:
    source = 'TUNE = {"A": (1, 2, 3), "B": (10, 20, 30), "C": ("x", "y", "z")}\n'
    found = variants(source, limit=8)
    assert len(found) == 8
    assert found[0].values == {"A": 1, "B": 10, "C": "x"}  # each name's first value
    assert found[-1].values == {"A": 3, "B": 30, "C": "z"}
    assert len({tuple(v.values.values()) for v in found}) == 8
    assert [v.values for v in found] == [v.values for v in variants(source, limit=8)]  # deterministic
    for name in ("A", "B", "C"):  # the spread reaches every value of every name
        assert len({v.values[name] for v in found}) == 3
    assert [v.values for v in variants(source, limit=1)] == [found[0].values]
    assert len(variants(source, limit=27)) == 27


def test_values_may_be_floats_negative_numbers_strings_or_a_single_literal() -> None:
    source = 'TUNE: dict = {"SCALE": (0.5, -1.25), "MODE": "fast", "SHIFT": -3}\n'
    found = variants(source)
    assert [v.values for v in found] == [
        {"SCALE": 0.5, "MODE": "fast", "SHIFT": -3},
        {"SCALE": -1.25, "MODE": "fast", "SHIFT": -3},
    ]
    namespace: dict[str, object] = {}
    exec(compile(ast.parse(found[1].source), "variant", "exec"), namespace)  # noqa: S102
    assert namespace["TUNE"] == {"SCALE": -1.25, "MODE": "fast", "SHIFT": -3}


@pytest.mark.parametrize(
    ("source", "words"),
    [
        ("TUNE = dict(BLOCK=(1, 2))\n", "must be a dict literal"),
        ("TUNE = {}\n", "TUNE is empty"),
        ('TUNE = {"BLOCK": (128, n)}\n', "value n is not an int, float or string literal"),
        ('TUNE = {"BLOCK": (True, False)}\n', "value True is not an int"),
        ('TUNE = {"BLOCK": [x for x in (1, 2)]}\n', "is not an int, float or string literal"),
        ('TUNE = {"not an id": (1, 2)}\n', "is not a string holding an identifier"),
        ('TUNE = {"class": (1, 2)}\n', "is not a string holding an identifier"),
        ("TUNE = {1: (1, 2)}\n", "is not a string holding an identifier"),
        ('TUNE = {"A": (1,), "A": (2,)}\n', "names 'A' twice"),
        ('TUNE = {"A": (1, 1)}\n', "lists 1 twice"),
        ('TUNE = {"A": ()}\n', "has no values"),
        (f'TUNE = {{"A": {tuple(range(MAX_VALUES + 1))}}}\n', f"at most {MAX_VALUES} are allowed"),
        ('TUNE = {"A": ("' + "x" * 65 + '",)}\n', "longer than 64 characters"),
        ('BASE = {}\nTUNE = {"A": (1, 2), **BASE}\n', "cannot unpack another dict"),
        ('TUNE = {"A": (1, 2)}\nTUNE = {"A": (3,)}\n', "line 2: TUNE is assigned more than once"),
        ('TUNE = OTHER = {"A": (1, 2)}\n', "assign TUNE on its own"),
        ('TUNE = {"A": (1, 2)}\nTUNE |= {"B": (1,)}\n', "assigned once"),
        ("TUNE: dict\n", "assign TUNE a dict literal"),
    ],
)
def test_a_malformed_declaration_is_one_sentence_naming_the_line(source: str, words: str) -> None:
    with pytest.raises(TuneError, match=r"^line \d+: ") as caught:
        variants(source)
    assert words in str(caught.value)
    assert isinstance(caught.value, KernelwrightError) and caught.value.line is not None


def test_tune_inside_a_function_or_class_is_not_a_declaration() -> None:
    source = 'def f():\n    TUNE = {"A": (1, 2)}\n    return TUNE\n'
    assert parse_tune(source) is None and len(variants(source)) == 1
