"""The bundled suite, run on the CPU at small sizes, guards against what the reward-hack literature
found in KernelBench: outputs that are nearly constant, inputs that do not matter, and tasks that
reduce to the identity on their input distribution (ReLU on torch.rand). Small variants come from
kernelwright.kernelbench.sizes, the same mechanism the sandbox's shape trial uses."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
import torch

from kernelwright.kernelbench import (
    apply_sizes,
    bundled_suite_dir,
    load_module,
    load_suite,
    scaled_sizes,
    size_constants,
    task_files,
)
from kernelwright.kernelbench.sizes import variant_numel

# Inputs plus parameters of each small variant; a few ms per forward on one CPU core.
SMALL_NUMEL = 1 << 17
SEEDS = (0, 1, 2)
MIN_RELATIVE_SPREAD = 1e-2

BUNDLED = task_files(bundled_suite_dir())
IDS = [f"level{p.parent.name[5:]}/{p.stem}" for p in BUNDLED]


@cache
def small_module(path: Path):
    module = load_module(path)
    apply_sizes(module, scaled_sizes(module, SMALL_NUMEL))
    return module


def build(path: Path, seed: int) -> tuple[torch.nn.Module, list]:
    """Model and inputs of the small variant, seeded as the sandbox seeds them."""
    module = small_module(path)
    torch.manual_seed(seed)
    model = module.Model(*module.get_init_inputs())
    torch.manual_seed(seed + 10_000)
    return model, list(module.get_inputs())


def forward(model: torch.nn.Module, inputs: list) -> torch.Tensor:
    with torch.no_grad():
        out = model(*inputs)
    assert isinstance(out, torch.Tensor), f"forward returned {type(out).__name__}, not a tensor"
    return out


@cache
def outputs(path: Path, seed: int) -> torch.Tensor:
    return forward(*build(path, seed))


def relative_spread(values: torch.Tensor) -> float:
    values = values.double().flatten()
    scale = values.abs().mean().item()
    return values.std().item() / scale if scale > 0 else 0.0


def test_suite_has_enough_tasks_over_three_levels() -> None:
    listing = load_suite()
    assert listing.errors == []
    per_level = {level: sum(t.level == level for t in listing.tasks) for level in (1, 2, 3)}
    assert len(listing.tasks) >= 30
    assert per_level[1] >= 15 and per_level[2] >= 10 and per_level[3] >= 5, per_level
    assert len({t.key for t in listing.tasks}) == len(listing.tasks)


@pytest.mark.parametrize("path", BUNDLED, ids=IDS)
def test_task_is_documented_fp32_and_sized_by_constants(path: Path) -> None:
    module = load_module(path)
    assert (module.__doc__ or "").strip(), "the task has no module docstring"
    full = size_constants(module)
    small = scaled_sizes(module, SMALL_NUMEL)
    assert set(small) == set(full)
    full_numel, small_numel = variant_numel(module, full), variant_numel(module, small)
    assert full_numel is not None and small_numel is not None
    assert small_numel <= SMALL_NUMEL < full_numel, "the size constants do not shrink this task"
    model, inputs = build(path, 0)
    floats = [
        t for t in [*inputs, *model.parameters()] if isinstance(t, torch.Tensor) and t.is_floating_point()
    ]
    assert all(t.dtype == torch.float32 for t in floats)


def check_float_inputs_are_signed(path: Path) -> None:
    _, inputs = build(path, 0)
    for i, tensor in enumerate(inputs):
        if isinstance(tensor, torch.Tensor) and tensor.is_floating_point():
            negative = (tensor < 0).double().mean().item()
            assert 0.05 < negative < 0.95, f"input {i} is {negative:.0%} negative: not a signed distribution"


def check_output_is_not_nearly_constant(path: Path) -> None:
    out = outputs(path, SEEDS[0])
    assert out.numel() > 1 and torch.isfinite(out.double()).all()
    across_elements = relative_spread(out)
    assert across_elements >= MIN_RELATIVE_SPREAD, f"relative std across elements {across_elements:.2e}"
    stacked = torch.stack([outputs(path, seed).double() for seed in SEEDS])
    across_seeds = stacked.std(dim=0).mean().item() / stacked.abs().mean().item()
    assert across_seeds >= MIN_RELATIVE_SPREAD, f"relative std across seeds {across_seeds:.2e}"


def check_every_input_changes_the_output(path: Path) -> None:
    model, inputs = build(path, SEEDS[0])
    baseline = forward(model, inputs).double()
    generator = torch.Generator().manual_seed(123)
    for i, tensor in enumerate(inputs):
        if not isinstance(tensor, torch.Tensor):
            continue
        perturbed = list(inputs)
        if tensor.is_floating_point():
            noise = torch.randn(tensor.shape, generator=generator)
            perturbed[i] = tensor + 0.5 * tensor.std() * noise
        else:
            low, high = int(tensor.min()), int(tensor.max()) + 1
            perturbed[i] = torch.randint(low, high, tensor.shape, generator=generator, dtype=tensor.dtype)
        changed = (forward(model, perturbed).double() - baseline).abs().mean().item()
        assert changed > 1e-3 * baseline.abs().mean().item(), f"input {i} does not change the output"


def check_not_the_identity_on_its_inputs(path: Path) -> None:
    _, inputs = build(path, SEEDS[0])
    out = outputs(path, SEEDS[0])
    for i, tensor in enumerate(inputs):
        if isinstance(tensor, torch.Tensor) and tensor.shape == out.shape:
            same = torch.allclose(out.double(), tensor.double(), rtol=1e-3, atol=1e-3)
            assert not same, f"the output equals input {i}: a copy kernel would pass"


def check_deterministic_given_the_seed(path: Path) -> None:
    first = forward(*build(path, 7))
    second = forward(*build(path, 7))
    assert torch.equal(first, second)
    assert not torch.equal(first, forward(*build(path, 8)))


CHECKS = {
    "signed-inputs": check_float_inputs_are_signed,
    "not-constant": check_output_is_not_nearly_constant,
    "inputs-matter": check_every_input_changes_the_output,
    "not-identity": check_not_the_identity_on_its_inputs,
    "deterministic": check_deterministic_given_the_seed,
}


@pytest.mark.parametrize("check", list(CHECKS), ids=list(CHECKS))
@pytest.mark.parametrize("path", BUNDLED, ids=IDS)
def test_bundled_task_passes(path: Path, check: str) -> None:
    CHECKS[check](path)


# Negative controls: the hacks the literature found, each of which one check must reject.
BAD_TASKS = {
    "signed-inputs": ("x = torch.rand(batch_size, dim)", "torch.relu(x)"),
    "not-identity": ("x = torch.randn(batch_size, dim).abs()", "torch.relu(x)"),
    "not-constant": ("x = torch.randn(batch_size, dim)", "(x ** 2).mean() * torch.ones(x.shape[0])"),
    "inputs-matter": ("x = torch.randn(batch_size, dim)", "torch.tanh(torch.ones_like(x) * self.w)"),
    "deterministic": (
        "x = torch.randn(batch_size, dim)",
        "x + torch.randn(x.shape, generator=torch.Generator().manual_seed(time.time_ns()))",
    ),
}

BAD_TEMPLATE = '''"""A deliberately hackable task (negative control)."""
import time
import torch
import torch.nn as nn

batch_size = 64
dim = 2048


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(1))

    def forward(self, x):
        return {forward}


def get_inputs():
    {inputs}
    return [x]


def get_init_inputs():
    return []
'''


@pytest.mark.parametrize("check", list(BAD_TASKS))
def test_check_rejects_the_hack_it_guards_against(check: str, tmp_path: Path) -> None:
    inputs, forward_expr = BAD_TASKS[check]
    path = tmp_path / "level1" / f"1_Bad_{check.replace('-', '_')}.py"
    path.parent.mkdir()
    path.write_text(BAD_TEMPLATE.format(inputs=inputs, forward=forward_expr))
    with pytest.raises(AssertionError):
        CHECKS[check](path)
