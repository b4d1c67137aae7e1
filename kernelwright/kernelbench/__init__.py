"""Tasks: a loader for KernelBench-format files and folders, and the bundled suite (level1..3)."""

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
