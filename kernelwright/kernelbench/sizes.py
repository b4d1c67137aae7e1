"""Size variants of a task: its module-level int constants, and a deterministic smaller set of them.

Like KernelBench, a task keeps its sizes in module-level ints (`batch_size = 16`, `dim = 16384`)
that `get_inputs()` / `get_init_inputs()` read when called. Setting `module.dim = 64` and calling
them again gives a small variant: the suite test runs tasks on the CPU that way, and the sandbox's
shape-generalisation trial checks that a candidate is not hard-wired to one shape.
"""

from __future__ import annotations

import types

from kernelwright.kernelbench.meta import on_meta_device

# Module-level numbers with a meaning other than a size.
NOT_SIZES = frozenset({"ATOL", "RTOL", "FLOPS"})
# Constants this small are kernel sizes, strides, paddings, head counts...: shrinking them would
# change what the task computes rather than how big it is.
MIN_SCALABLE = 32
# No size is halved below this, so that convolutions and heads keep a sensible extent.
SIZE_FLOOR = 16


def size_constants(module: types.ModuleType) -> dict[str, int]:
    """The module-level int constants of a task module (bools and ATOL/RTOL/FLOPS excluded)."""
    return {
        name: value
        for name, value in vars(module).items()
        if isinstance(value, int)
        and not isinstance(value, bool)
        and not name.startswith("_")
        and name not in NOT_SIZES
    }


def apply_sizes(module: types.ModuleType, sizes: dict[str, int]) -> None:
    """Sets the given constants on the module; get_inputs()/Model read them at call time."""
    for name, value in sizes.items():
        setattr(module, name, value)


def variant_numel(module: types.ModuleType, sizes: dict[str, int], *, run_forward: bool = True) -> int | None:
    """Elements of all inputs plus model parameters under `sizes`, built on meta; None if invalid
    (building, or with run_forward the forward pass on meta, raises)."""
    import torch

    original = size_constants(module)
    apply_sizes(module, sizes)
    try:
        with on_meta_device():
            init_args = list(module.get_init_inputs())
            inputs = list(module.get_inputs())
            model = module.Model(*init_args)
            if run_forward:
                model(*inputs)
        tensors = [t for t in inputs if isinstance(t, torch.Tensor)]
        numel: int = sum(t.numel() for t in tensors) + sum(p.numel() for p in model.parameters())
        return numel
    except Exception:
        return None
    finally:
        apply_sizes(module, original)


def scaled_sizes(module: types.ModuleType, max_numel: int) -> dict[str, int]:
    """A deterministic smaller variant: repeatedly halve the largest scalable constant (one that was
    >= 32 in the task; never below 16) until inputs plus parameters hold at most `max_numel` elements. A halving that makes
    the task invalid on meta (a shape mismatch) is undone and that constant left alone. Returns the
    full constant dict; it may stay above max_numel when nothing more can shrink."""
    sizes = original = size_constants(module)
    # Some forwards cannot run on meta (data-dependent ops); then only building is checked.
    run_forward = variant_numel(module, sizes) is not None
    if not run_forward and variant_numel(module, sizes, run_forward=False) is None:
        return sizes
    frozen: set[str] = set()
    while True:
        numel = variant_numel(module, sizes, run_forward=run_forward)
        if numel is not None and numel <= max_numel:
            return sizes
        # Whether a constant is a size is judged on its original value; once it is, it may
        # shrink down to the floor.
        scalable = [
            (value, name)
            for name, value in sizes.items()
            if original[name] >= MIN_SCALABLE and value > SIZE_FLOOR and name not in frozen
        ]
        if not scalable:
            return sizes
        # Largest first; the name breaks ties so the result never depends on dict order.
        _, name = max(scalable, key=lambda item: (item[0], item[1]))
        trial = dict(sizes, **{name: max(SIZE_FLOOR, sizes[name] // 2)})
        if variant_numel(module, trial, run_forward=run_forward) is None:
            frozen.add(name)
        else:
            sizes = trial
