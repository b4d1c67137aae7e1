"""Batch and leaderboard figures (prints them; asserts nothing timed).

1. Scheduling overhead per evaluation: what the batch adds around an instant evaluator
   - local pool: agents call it through asyncio.to_thread, as the loop does, N at once;
   - Ray: each evaluation a num_gpus=1 Ray task on a local instance with logical GPUs.
2. Leaderboard query time on a store with ~1M attempts (SQLite by default; --db for another).

    python benchmarks/bench_batch.py [--attempts 1000000] [--evals 4000] [--ray-evals 300] [--db URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from kernelwright.batch.pools import LocalPool, RayPool
from kernelwright.contracts import Candidate, Task, TimingStats, Verdict

TASK = Task(name="1_bench", level=1, path="bench.py", source="", source_sha256="0" * 64)
CANDIDATE = Candidate(source="# bench")
VERDICT = Verdict(status="ok", speedup_vs_eager=1.5)


def instant(task: Task, candidate: Candidate) -> Verdict:
    return VERDICT


def bench_local(evals: int, agents: int, workers: int) -> None:
    async def agent(pool: LocalPool, n: int) -> None:
        for _ in range(n):
            await asyncio.to_thread(pool, TASK, CANDIDATE)

    async def main(evaluate: object) -> float:
        from concurrent.futures import ThreadPoolExecutor

        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(agents + 4))
        start = time.perf_counter()
        await asyncio.gather(*(agent(evaluate, evals // agents) for _ in range(agents)))  # type: ignore[arg-type]
        return time.perf_counter() - start

    direct = asyncio.run(main(instant))
    pool = LocalPool([instant] * workers)
    pooled = asyncio.run(main(pool))
    pool.close()
    n = evals // agents * agents
    print(f"local pool: {n} evaluations, {agents} agents, {workers} GPU workers")
    print(f"  to_thread(evaluate) directly : {direct / n * 1e6:8.1f} us/eval")
    print(f"  to_thread(pool) -> worker    : {pooled / n * 1e6:8.1f} us/eval")
    print(f"  added by the pool            : {(pooled - direct) / n * 1e6:8.1f} us/eval "
          f"(ratio {pooled / direct:.2f})")  # fmt: skip


def bench_ray(evals: int) -> None:
    if evals < 3:
        print("ray: skipped (--ray-evals below 3)")
        return
    try:
        import ray
    except ImportError:
        print("ray: not installed, skipped")
        return
    start = time.perf_counter()
    # A local instance on loopback only (Ray binds a Linux node to its outward address otherwise),
    # reporting no usage statistics.
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False)
    print(f"ray: local instance up in {time.perf_counter() - start:.1f} s (2 CPUs, 2 logical GPUs)")
    pool = RayPool(lambda: instant, address=None)
    pool(TASK, CANDIDATE)  # warm a worker
    start = time.perf_counter()
    for _ in range(evals // 3):
        pool(TASK, CANDIDATE)
    seq = (time.perf_counter() - start) / (evals // 3)

    async def concurrent() -> float:
        begin = time.perf_counter()
        await asyncio.gather(*(asyncio.to_thread(pool, TASK, CANDIDATE) for _ in range(evals)))
        return time.perf_counter() - begin

    conc = asyncio.run(concurrent()) / evals
    print(f"  one at a time : {seq * 1e3:8.2f} ms/eval (round trip: submit, schedule on a GPU, get)")
    print(f"  {evals} at once : {conc * 1e3:8.2f} ms/eval (throughput with 2 GPUs)")
    ray.shutdown()


def _timing(ms: float) -> dict[str, float | int]:
    return TimingStats(median_ms=ms, iqr_ms=ms * 0.01, cv=0.01, trials=100).model_dump()


def build_store(url: str, attempts: int, tasks: int = 250, per_run: int = 20) -> None:
    """~`attempts` attempts over tasks x 2 GPUs x 2 models, runs of 10 rounds x 2 candidates
    (several runs per task and setup, as repeated batches leave them), 3 LLM calls per run."""
    from sqlalchemy import insert

    from kernelwright.store import open_store
    from kernelwright.store.models import AttemptModel, LLMCallModel, RunModel, TaskModel

    store = open_store(url)
    rng = random.Random(0)
    setups = [(g, m) for g in ("NVIDIA H100 80GB HBM3", "NVIDIA A100-SXM4-80GB") for m in ("m1", "m2")]
    runs_per_setup = max(1, attempts // (tasks * len(setups) * per_run))
    now = datetime.now(UTC)
    statuses = ["ok", "ok", "incorrect", "compile_error", "runtime_error"]
    with store.engine.begin() as conn:
        conn.execute(insert(TaskModel), [
            {"key": f"level{1 + i % 3}/{i}_t", "name": f"{i}_t", "level": 1 + i % 3, "task_id": i, "path": "",
             "source": "", "source_sha256": "0" * 64, "description": "", "spec": {}} for i in range(tasks)
        ])  # fmt: skip
        run_id = 0
        for task_id in range(1, tasks + 1):
            runs, rows, calls = [], [], []
            for gpu, model in [s for s in setups for _ in range(runs_per_setup)]:
                run_id += 1
                runs.append({"id": run_id, "config": {}, "coder_model": model, "judge_model": model,
                             "gpu_name": gpu, "status": "done", "started_at": now, "finished_at": now})  # fmt: skip
                calls += [{"run_id": run_id, "role": "coder", "model": model, "prompt": "[]", "response": "x",
                           "tokens_in": 1000, "tokens_out": 500, "latency_s": 1.0, "cost_usd": 0.01,
                           "error": None, "created_at": now} for _ in range(3)]  # fmt: skip
                for k in range(per_run):
                    status = rng.choice(statuses)
                    speed = rng.uniform(0.3, 3.0) if status == "ok" else None
                    rows.append({
                        "run_id": run_id, "task_id": task_id, "round": k // 2, "candidate_index": k % 2,
                        "mode": "optimize", "parent_attempt_id": None, "code": "", "status": status, "message": "",
                        "verdict": {"status": status, "candidate_timing": _timing(1.0 / speed) if speed else None},
                        "profile": None, "speedup_vs_eager": speed, "speedup_vs_compiled": speed and speed * 0.8,
                        "candidate_median_ms": speed and 1.0 / speed, "gpu_name": gpu, "created_at": now,
                    })  # fmt: skip
            conn.execute(insert(RunModel), runs)
            conn.execute(insert(LLMCallModel), calls)
            conn.execute(insert(AttemptModel), rows)
    store.close()


def bench_leaderboard(url: str | None, attempts: int) -> None:
    from kernelwright.report.build import leaderboard_from_engine
    from kernelwright.report.facts import attempt_facts
    from kernelwright.store import open_store

    tmp = None
    if url is None:
        tmp = tempfile.TemporaryDirectory()
        url = f"sqlite:///{Path(tmp.name) / 'bench.db'}"
    start = time.perf_counter()
    build_store(url, attempts)
    print(
        f"leaderboard: built a {attempts:,}-attempt store in {time.perf_counter() - start:.1f} s ({url.split(':')[0]})"
    )
    store = open_store(url)
    times, fact_times = [], []
    for _ in range(3):
        begin = time.perf_counter()
        facts = attempt_facts(store.engine)
        fact_times.append(time.perf_counter() - begin)
        begin = time.perf_counter()
        board = leaderboard_from_engine(store.engine)
        times.append(time.perf_counter() - begin)
    print(f"  {len(facts):,} attempts -> {len(board.tasks)} task rows, {len(board.summary)} summary rows")
    print(f"  read facts         : median {statistics.median(fact_times):.2f} s over 3")
    print(f"  whole leaderboard  : median {statistics.median(times):.2f} s over 3")
    begin = time.perf_counter()
    store.best_all()
    print(
        f"  store.best_all()   : {time.perf_counter() - begin:.3f} s (the maintained best table, for reference)"
    )
    store.close()
    if tmp is not None:
        tmp.cleanup()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--attempts", type=int, default=1_000_000)
    ap.add_argument("--evals", type=int, default=4000)
    ap.add_argument("--ray-evals", type=int, default=300)
    ap.add_argument(
        "--db", default=None, help="Store URL for the leaderboard figure (default: a temp SQLite)."
    )
    args = ap.parse_args()
    print(f"bench_batch on {os.cpu_count()} CPUs")
    bench_local(args.evals, agents=16, workers=2)
    bench_ray(args.ray_evals)
    bench_leaderboard(args.db, args.attempts)


if __name__ == "__main__":
    main()
