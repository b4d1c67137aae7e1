"""Runs one batch the way `kernelwright batch` does, with the GPU step replaced by recorded Verdicts;
a subprocess the tests can SIGKILL mid-run.

    python tests/batch/batch_driver.py --db URL --base-url URL [--resume ID] [--gpu-s 0.1] [--workers 2]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository: tests.support, tests.batch

from kernelwright.agents.config import LLMConfig  # noqa: E402
from kernelwright.agents.loop import LoopConfig  # noqa: E402
from kernelwright.agents.session import OptimizeSettings  # noqa: E402
from kernelwright.batch.config import BatchConfig  # noqa: E402
from kernelwright.batch.optimize_suite import optimize_suite  # noqa: E402
from kernelwright.batch.pools import LocalPool  # noqa: E402
from kernelwright.contracts import Task  # noqa: E402
from kernelwright.gpu.target import Target  # noqa: E402
from kernelwright.kernelbench.loader import load_task  # noqa: E402
from kernelwright.kernelbench.suite import bundled_suite_dir, task_files  # noqa: E402
from kernelwright.store import open_store  # noqa: E402
from tests.batch.keyed_server import CODER, JUDGE  # noqa: E402
from tests.support.recorded import batch_evaluator  # noqa: E402

GPU = "NVIDIA H100 80GB HBM3"
WANTED = {"6", "7", "8", "9", "10"}
N_TASKS = len(WANTED)


def batch_tasks() -> list[Task]:
    # elementwise and reduction tasks: they load fast (the GEMMs' meta shapes are large)
    files = [p for p in task_files(bundled_suite_dir(), level=1) if p.stem.split("_")[0] in WANTED]
    return [load_task(p) for p in files]


def batch_settings(base_url: str) -> OptimizeSettings:
    llm = LLMConfig.from_env(
        env={}, base_url=base_url, api_key="sk-test", coder_model=CODER, judge_model=JUDGE
    )
    llm.coder.max_retries = llm.judge.max_retries = 0
    return OptimizeSettings(llm=llm, loop=LoopConfig(rounds=3, candidates=2, patience=2))


def batch_target() -> Target:
    """The GPU the recorded Verdicts stand for; the prompts are told nothing more about it."""
    return Target(compile_only=False, arch="sm_90", gpu_name=GPU, facts="Unknown GPU.")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", required=True)
    ap.add_argument("--base-url", required=True)
    ap.add_argument("--resume", type=int, default=None)
    ap.add_argument("--gpu-s", type=float, default=0.0)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    store = open_store(args.db)
    pool = LocalPool([batch_evaluator(args.gpu_s) for _ in range(args.workers)])
    state = asyncio.run(
        optimize_suite(
            batch_tasks(),
            batch_settings(args.base_url),
            BatchConfig(llm_concurrency=3),
            batch_target(),
            store,
            evaluate=pool,
            profile=None,
            workers=args.workers,
            resume_run_id=args.resume,
        )
    )
    pool.close()
    for o in state.outcomes:
        print(f"{o.task_key} {o.status} {o.attempts} {o.best_speedup} {o.message}")
    print(f"batch {state.batch_run_id}")


if __name__ == "__main__":
    main()
