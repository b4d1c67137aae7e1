"""Tasks: a loader for KernelBench-format files and folders, and the bundled suite (level1..3).

A task file defines `Model(nn.Module)`, `get_inputs()` and `get_init_inputs()`; name, level and id
come from its path (`level1/19_ReLU.py`), shapes from calling those functions on the meta device.
Optional module-level `ATOL`, `RTOL`, `FLOPS` set the Task's tolerance and FLOP estimate.

Conventions of the bundled suite (and what its CPU test checks): a module docstring; fp32; sizes
in module-level int constants read at call time (see `sizes`), chosen for roughly 1-20 ms eagerly
on an H100; signed, non-degenerate inputs (torch.randn, never torch.rand for ReLU-like ops); no
output that is nearly constant, ignores an input, or equals an input.
"""

from kernelwright.kernelbench.loader import load_module, load_task, module_from_source
from kernelwright.kernelbench.sizes import apply_sizes, scaled_sizes, size_constants
from kernelwright.kernelbench.suite import SuiteListing, bundled_suite_dir, find_task, load_suite, task_files

__all__ = [
    "SuiteListing",
    "apply_sizes",
    "bundled_suite_dir",
    "find_task",
    "load_module",
    "load_suite",
    "load_task",
    "module_from_source",
    "scaled_sizes",
    "size_constants",
    "task_files",
]
