"""Per-candidate harness time of the sandbox's CPU protocol, before and after the trust boundary
(judge and runner in separate processes), on the bundled level-1 tasks at CPU-sized shapes, plus the
bytes the new protocol moves through its exchange folder per trial. Figures from this one run;
asserts nothing.

    .venv/bin/python benchmarks/bench_protocol.py [--baseline d5e9cfb] [--candidates 3] [--numel 65536]

The baseline is a git revision of this repository checked out into a temporary worktree and run by
the same interpreter with PYTHONPATH pointing at it (d5e9cfb: the last commit whose verdict was
computed inside the candidate's own process). Each task's candidate is the reference itself renamed
ModelNew (PyTorch-level, --allow-torch), so both protocols do the same work around it; the first
candidate of a task pays for the new protocol's reference timing, later ones reuse it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BASE = {"device": "cpu", "allow_torch": True, "memory_limit_gb": 8}
# The product's own timing settings (at least 100 calls and 1 s), and a call-bound loop that lays bare
# the protocol's fixed cost per evaluation.
PROFILES = {
    "default": {},
    "call-bound": {"timing_min_calls": 30, "timing_min_seconds": 0.0, "warmup_calls": 1},
}


def small_variant(path: Path, numel: int) -> str | None:
    """The task's source with its size constants rewritten to a variant of about `numel` elements."""
    from kernelwright.kernelbench.sizes import scaled_sizes, size_constants
    from kernelwright.sandbox.inputs import import_task

    module = import_task(str(path), f"bench_{path.stem}")
    original = size_constants(module)
    sizes = scaled_sizes(module, numel)
    source = path.read_text()
    for name, value in sizes.items():
        if value != original[name]:
            source = re.sub(rf"(?m)^{re.escape(name)}\s*=\s*\d+", f"{name} = {value}", source)
    return source


def exchanged_bytes_per_trial(source: str) -> int:
    """Inputs written, inputs read back and outputs read, for the trial's two runs."""
    import torch

    from kernelwright.sandbox.inputs import import_task, make_inputs

    with tempfile.NamedTemporaryFile("w", suffix=".py", delete=False) as f:
        f.write(source)
    module = import_task(f.name, "bench_bytes")
    os.unlink(f.name)
    inputs = make_inputs(module, 0, torch.device("cpu"))
    model = module.Model(*module.get_init_inputs())
    with torch.no_grad():
        out = model(*inputs)
    outs = [out] if isinstance(out, torch.Tensor) else list(out)
    size = lambda ts: sum(t.untyped_storage().nbytes() for t in ts if isinstance(t, torch.Tensor))  # noqa: E731
    return 2 * (2 * size(inputs) + size(outs))


def measure(spec_path: str, candidates: int, profile: str) -> dict[str, Any]:
    """Run in the tree under test: seconds per evaluation of each task's candidate."""
    from kernelwright.contracts import Candidate
    from kernelwright.kernelbench import find_task
    from kernelwright.sandbox.config import SandboxConfig
    from kernelwright.sandbox.evaluate import Sandbox

    spec = json.loads(Path(spec_path).read_text())
    folder = Path(tempfile.mkdtemp(prefix="bench-protocol-"))
    results: dict[str, Any] = {}
    with Sandbox(SandboxConfig(**BASE, **PROFILES[profile])) as sandbox:  # type: ignore[arg-type]
        warm = spec[0]
        (folder / f"{warm['name']}.py").write_text(warm["task"])
        sandbox(find_task(str(folder / f"{warm['name']}.py")), Candidate(source=warm["candidate"]))
        for item in spec:
            path = folder / f"{item['name']}.py"
            path.write_text(item["task"])
            task = find_task(str(path))
            times, statuses = [], []
            for _ in range(candidates):
                started = time.perf_counter()
                verdict = sandbox(task, Candidate(source=item["candidate"]))
                times.append(time.perf_counter() - started)
                statuses.append(str(verdict.status))
            results[item["name"]] = {"seconds": times, "statuses": statuses}
    return results


def run_tree(tree: Path, spec: Path, candidates: int, profile: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    out = subprocess.run(
        [sys.executable, __file__, "--measure", str(spec), "--candidates", str(candidates), "--profile", profile],
        env=env, cwd=tree, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", default="d5e9cfb")
    parser.add_argument("--candidates", type=int, default=3)
    parser.add_argument("--numel", type=int, default=1 << 16)
    parser.add_argument("--profile", choices=sorted(PROFILES), help="one timing profile (default: both)")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.candidates, args.profile)))
        return

    from kernelwright.kernelbench.suite import bundled_suite_dir

    spec = []
    for path in sorted(
        (bundled_suite_dir() / "level1").glob("*.py"), key=lambda p: int(p.stem.split("_")[0])
    ):
        task = small_variant(path, args.numel)
        if task is None:
            continue
        candidate = re.sub(r"\bModel\b", "ModelNew", task)
        spec.append(
            {
                "name": path.stem,
                "task": task,
                "candidate": candidate,
                "bytes": exchanged_bytes_per_trial(task),
            }
        )
    spec_file = Path(tempfile.mkdtemp()) / "spec.json"
    spec_file.write_text(json.dumps(spec))
    baseline = Path(tempfile.mkdtemp(prefix="kw-baseline-")) / "tree"
    subprocess.run(
        ["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", str(baseline), args.baseline],
        check=True,
    )
    try:
        for profile in [args.profile] if args.profile else list(PROFILES):
            before = run_tree(baseline, spec_file, args.candidates, profile)
            after = run_tree(REPO, spec_file, args.candidates, profile)
            report(spec, before, after, profile, args)
    finally:
        subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(baseline)], check=False)


def report(
    spec: list[dict[str, Any]], before: dict[str, Any], after: dict[str, Any], profile: str, args: Any
) -> None:
    settings = PROFILES[profile] or {"timing_min_calls": 100, "timing_min_seconds": 1.0}
    print(f"\n[{profile}] CPU protocol, {len(spec)} bundled level-1 tasks at ~{args.numel} elements, "
          f"{args.candidates} candidates each; 5 trials + shape trial; timing {settings}")  # fmt: skip
    print(
        f"{'task':28} {'before s':>9} {'after 1st':>9} {'after s':>9} {'ratio':>6} {'KiB/trial':>10}  status"
    )
    ratios, firsts = [], []
    for item in spec:
        name = item["name"]
        old, new = before[name]["seconds"], after[name]["seconds"]
        old_s = statistics.median(old[1:] or old)
        new_s = statistics.median(new[1:] or new)
        ratios.append(new_s / old_s)
        firsts.append(new[0] / old[0])
        status = f"{','.join(sorted(set(before[name]['statuses'])))} / {','.join(sorted(set(after[name]['statuses'])))}"
        print(
            f"{name:28} {old_s:9.3f} {new[0]:9.3f} {new_s:9.3f} {new_s / old_s:6.2f} {item['bytes'] / 1024:10.1f}  {status}"
        )
    geo = math.exp(statistics.fmean(math.log(r) for r in ratios))
    geo_first = math.exp(statistics.fmean(math.log(r) for r in firsts))
    print(
        f"geometric mean after/before: {geo:.2f}x per later candidate, {geo_first:.2f}x for a task's first "
        "(target <= 1.5x)"
    )


if __name__ == "__main__":
    main()
