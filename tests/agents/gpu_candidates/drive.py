"""GPU-machine check of `kernelwright optimize` end to end (run by scripts/gpu-check.d/50-agents.sh).

For each bundled task below, the scripted OpenAI server plays back the pre-written candidates in
this folder (round 0: <task>/seed.py, round 1: <task>/fast.py, with a Judge plan in between), the
real CLI runs them through the sandbox (and, for the first task, the profiler), and the speedups
the store holds (`kernelwright show TASK --json`) are written to OUT/<task>.json and printed.

    python3 tests/agents/gpu_candidates/drive.py OUT_DIR [--compile-only]

--compile-only is the CPU dry run of the same plumbing (NVRTC and the guard instead of the GPU).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))  # the repository, for tests.support.openai_server

from tests.support.openai_server import running_server  # noqa: E402

TASKS = ["level1/19_ReLU", "level1/13_SiLU", "level1/12_GELU"]
PLAN = json.dumps(
    {
        "bottleneck": "memory bandwidth: one 4-byte load and store per thread",
        "evidence": [{"metric": "dram throughput", "value": "see digest", "reading": "below peak"}],
        "method": "vectorized 16-byte accesses",
        "plan": "Load and store float4 in a grid-stride loop capped at 16 blocks per SM; scalar tail.",
    }
)


def fenced(path: Path) -> str:
    return f"Here is the kernel.\n\n```python\n{path.read_text()}```\n"


def run_task(task: str, out: Path, env: dict[str, str], profile: bool, timeout_s: float, dry: bool) -> dict:
    stem = task.split("/")[1]
    with running_server() as server:
        server.script("coder", [fenced(HERE / stem / "seed.py"), fenced(HERE / stem / "fast.py")])
        server.script("judge", [], then=PLAN)  # a repair round (seed incorrect) still gets an answer
        env = {**env, "OPENAI_BASE_URL": server.base_url}
        args = [
            "optimize",
            "--task",
            task,
            "--rounds",
            "2",
            "--candidates",
            "1",
            "--out",
            str(out / "kernels"),
        ]
        if dry:
            args.append("--compile-only")
        elif not profile:
            args.append("--no-profile")
        start = time.monotonic()
        try:
            proc = subprocess.run([sys.executable, "-m", "kernelwright.cli", *args], env=env,
                                  capture_output=True, text=True, timeout=timeout_s)  # fmt: skip
            rc, tail = proc.returncode, (proc.stdout + proc.stderr)[-3000:]
        except subprocess.TimeoutExpired:
            rc, tail = 124, f"timed out after {timeout_s:g} s"
        wall = time.monotonic() - start
    shown = subprocess.run([sys.executable, "-m", "kernelwright.cli", "show", task, "--json"], env=env,
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    history = json.loads(shown.stdout) if shown.returncode == 0 else {"error": shown.stderr.strip()}
    (out / f"{stem}.json").write_text(json.dumps(history, indent=1))
    (out / f"{stem}.log").write_text(tail)
    return {"task": task, "rc": rc, "wall_s": round(wall, 1), "attempts": history.get("attempts", [])}


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "KERNELWRIGHT_"))}
    env.update(OPENAI_API_KEY="sk-gpu-check", KERNELWRIGHT_CODER_MODEL="coder", KERNELWRIGHT_JUDGE_MODEL="judge",
               KERNELWRIGHT_DB=f"sqlite:///{out / 'store.db'}")  # fmt: skip
    failures = 0
    summary = []
    for i, task in enumerate(TASKS):
        r = run_task(
            task, out, env, profile=i == 0, timeout_s=55 if i == 0 else 35, dry="--compile-only" in sys.argv
        )
        failures += r["rc"] != 0
        summary.append(
            {"task": task, "rc": r["rc"], "wall_s": r["wall_s"],
             "speedups": [(a["round"], a["status"], a["speedup_vs_eager"]) for a in r["attempts"]]}
        )  # fmt: skip
        (out / "summary.json").write_text(json.dumps(summary, indent=1))
        print(f"{task}: rc={r['rc']} wall {r['wall_s']} s")
        for a in r["attempts"]:
            speed = f"{a['speedup_vs_eager']:.3f}x" if a["speedup_vs_eager"] is not None else "-"
            ms = f"{a['median_ms']:.4f} ms" if a["median_ms"] is not None else "-"
            print(
                f"  round {a['round']} {a['mode']:8} {a['status']:13} {speed:>8} {ms:>12}  {a['gpu']}  {a['message'][:80]}"
            )
        if r["rc"] != 0:
            print("  " + (out / f"{task.split('/')[1]}.log").read_text()[-600:].replace("\n", "\n  "))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
