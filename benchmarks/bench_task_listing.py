"""How fast task suites list: the bundled suite, and a generated KernelBench-sized tree (250 files,
every seventh with 6 GiB of inputs) read on the meta device. Prints figures; asserts nothing timed.

    .venv/bin/python benchmarks/bench_task_listing.py
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path

from kernelwright.kernelbench import bundled_suite_dir, load_suite

TEMPLATE = """import torch
import torch.nn as nn

class Model(nn.Module):
    def __init__(self, hidden):
        super(Model, self).__init__()
        self.linear = nn.Linear(dim, hidden)

    def forward(self, x):
        return torch.relu(self.linear(x.cuda()))

batch_size = {batch}
dim = 768

def get_inputs():
    return [torch.randn(batch_size, dim).cuda()]

def get_init_inputs():
    return [1024]
"""
LEVEL_COUNTS = {1: 100, 2: 100, 3: 40, 4: 10}


def make_tree(root: Path) -> None:
    for level, count in LEVEL_COUNTS.items():
        folder = root / f"level{level}"
        folder.mkdir(parents=True)
        for i in range(1, count + 1):
            batch = 2_097_152 if i % 7 == 0 else 64 * i  # 2M x 768 float32 = 6 GiB
            (folder / f"{i}_Task_{i}.py").write_text(TEMPLATE.format(batch=batch))


def timed_listing(root: Path, label: str) -> None:
    peak_before_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    listing = load_suite(root)
    elapsed_s = time.perf_counter() - started
    grown_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - peak_before_mib
    input_gib = sum(a.numel * 4 for t in listing.tasks for a in t.inputs if a.kind == "tensor") / 2**30
    print(
        f"{label:28s} {len(listing.tasks):4d} tasks, {len(listing.errors)} errors: {elapsed_s:6.2f} s "
        f"({1e3 * elapsed_s / max(1, len(listing.tasks)):5.1f} ms/task); inputs described {input_gib:8.1f} GiB, "
        f"peak RSS grew {grown_mib:5.0f} MiB"
    )


def main() -> None:
    import torch  # imported before timing, as the CLI has it imported too

    print(f"torch {torch.__version__}")
    # The first meta-device ops import torch's meta kernels (about a second, once per process).
    timed_listing(bundled_suite_dir(), "bundled suite (cold)")
    timed_listing(bundled_suite_dir(), "bundled suite (warm)")
    with tempfile.TemporaryDirectory() as tmp:
        make_tree(Path(tmp))
        timed_listing(Path(tmp), "KernelBench-sized tree")


if __name__ == "__main__":
    main()
