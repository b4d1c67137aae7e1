"""Size variants: the module-level constants of a task and the deterministic smaller set of them."""

from __future__ import annotations

import textwrap
from pathlib import Path

import torch

from kernelwright.kernelbench import apply_sizes, bundled_suite_dir, load_module, scaled_sizes, size_constants
from kernelwright.kernelbench.sizes import variant_numel

SOURCE = '''
"""Rows of 3 x 32 groups: `dim` must stay 96, the batch may shrink."""
import torch
import torch.nn as nn

batch_size = 8192
dim = 96
kernel_size = 3
use_bias = True
_private = 1000
scale = 0.5
ATOL = 1
FLOPS = 123456


class Model(nn.Module):
    def __init__(self):
        super().__init__()

    def forward(self, x):
        return x.view(x.shape[0], 3, 32).sum(dim=-1) * kernel_size


def get_inputs():
    return [torch.randn(batch_size, dim)]


def get_init_inputs():
    return []
'''


def module_of(tmp_path: Path, source: str = SOURCE):
    path = tmp_path / "1_Groups.py"
    path.write_text(textwrap.dedent(source))
    return load_module(path)


def test_size_constants_are_the_public_ints_only(tmp_path: Path) -> None:
    assert size_constants(module_of(tmp_path)) == {"batch_size": 8192, "dim": 96, "kernel_size": 3}


def test_scaled_sizes_shrink_within_budget_and_keep_constraints(tmp_path: Path) -> None:
    module = module_of(tmp_path)
    small = scaled_sizes(module, 4096)
    # dim cannot halve (the view needs 96), kernel_size is too small to be a size: the batch shrinks.
    assert small == {"batch_size": 32, "dim": 96, "kernel_size": 3}
    assert variant_numel(module, small) == 32 * 96
    assert size_constants(module)["batch_size"] == 8192, "scaled_sizes must leave the module as it was"
    apply_sizes(module, small)
    torch.manual_seed(0)
    (x,) = module.get_inputs()
    assert x.shape == (32, 96) and x.device.type == "cpu"
    assert module.Model()(x).shape == (32, 3)


def test_scaled_sizes_are_deterministic_and_respect_the_floor(tmp_path: Path) -> None:
    module = module_of(tmp_path)
    assert scaled_sizes(module, 4096) == scaled_sizes(module, 4096)
    # An unreachable budget stops at the floor (16) instead of looping or reaching zero.
    assert scaled_sizes(module, 1)["batch_size"] == 16


def test_bundled_gemm_scales_to_a_small_square(tmp_path: Path) -> None:
    module = load_module(bundled_suite_dir() / "level1" / "1_Square_GEMM.py")
    assert size_constants(module) == {"N": 4096}
    assert scaled_sizes(module, 2 * 256 * 256) == {"N": 256}
