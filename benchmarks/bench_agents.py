"""Tokens per round and LLM calls per task of the agent loop, before and after a change, on the bundled
level-1 tasks run by the CPU loop (the real CPU sandbox, CPU-sized task variants) against a scripted
OpenAI-protocol server. Figures from this one run; asserts nothing.

    .venv/bin/python benchmarks/bench_agents.py [--baseline 71e1ff6] [--rounds 3] [--candidates 2] [--limit 19]

The baseline is a git revision checked out into a temporary worktree and run by the same interpreter
with PYTHONPATH pointing at it (71e1ff6: the loop before ranked plans, rules in prompts, repair
slots, memory, examples and re-timing). Both sides see the same server: the Coder answers with the
task's reference renamed ModelNew (correct, ~1x eager), the Judge with one JSON object that both its
old and new schemas accept (two ranked plans plus the single-plan fields). Tokens are estimated as
characters / 4 of every message sent (the server's whitespace word counts are shown too); a round's
tokens are those of all calls made while planning and writing it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
JUDGE_REPLY = {
    "critical_issue": "The index computation overflows for large tensors.",
    "why_it_matters": "Elements past 2^31 are never written.",
    "minimal_fix_hint": "Use 64-bit indices.",
    "bottleneck": "memory bandwidth",
    "evidence": ["DRAM below peak"],
    "method": "vectorize loads",
    "plan": "Load four floats per thread.",
    "plans": [
        {
            "bottleneck": "memory bandwidth",
            "method": "vectorize loads",
            "plan": "Load four floats per thread.",
        },
        {"bottleneck": "passes", "method": "fuse passes", "plan": "Do the work in one pass."},
    ],
}


def cpu_task_files(folder: Path, limit: int) -> list[Path]:
    """The bundled level-1 tasks as CPU-sized files under folder/level1 (this checkout's variants, so
    both sides judge the same sources)."""
    from kernelwright.kernelbench import load_suite
    from kernelwright.kernelbench.cpu_variant import cpu_variant

    out = folder / "level1"
    out.mkdir(parents=True)
    files = []
    for task in load_suite(None, 1).tasks[:limit]:
        path = out / f"{task.name}.py"
        path.write_text(cpu_variant(task).source)
        files.append(path)
    return files


def measure(files: list[Path], rounds: int, candidates: int) -> list[dict[str, Any]]:
    """Runs in the side's own process: the loop over every task, one store, one scripted server."""
    import asyncio
    import re

    from kernelwright.agents.config import LLMConfig, RoleConfig
    from kernelwright.agents.loop import LoopConfig, optimize_task
    from kernelwright.agents.prices import PriceTable
    from kernelwright.agents.wiring import open_clients
    from kernelwright.gpu.target import Target
    from kernelwright.kernelbench import load_task
    from kernelwright.sandbox.config import SandboxConfig
    from kernelwright.sandbox.evaluate import Sandbox
    from kernelwright.store import open_store
    from tests.support.openai_server import Reply, ScriptedServer

    class Server(ScriptedServer):
        def next_reply(self, model: str) -> Reply:
            with self._lock:
                prompt = self.requests[-1].messages[-1]["content"]
            if model == "judge":
                return Reply(text="```json\n" + json.dumps(JUDGE_REPLY) + "\n```")
            found = re.search(r"## Reference[^\n]*\n\n```python\n(.*?)\n```", prompt, re.S)
            code = found.group(1) if found else ""
            return Reply(text="```python\n" + code.replace("class Model(", "class ModelNew(") + "\n```")

    fields = set(Target.model_fields)
    extra = {"device": "cpu", "allow_torch": True} if "device" in fields else {}
    target = Target(compile_only=False, arch="sm_90", gpu_name="cpu", facts="This machine's CPU.", **extra)
    server = Server().start()
    results = []
    with tempfile.TemporaryDirectory() as tmp, open_store(f"sqlite:///{tmp}/bench.db") as store:
        sandbox = Sandbox(SandboxConfig(device="cpu", allow_torch=True))
        try:
            for path in files:
                task = load_task(path)
                store.add_task(task)
                run_id = store.create_run({"task": task.key}, coder_model="coder", judge_model="judge",
                                          gpu_name="cpu")  # fmt: skip
                role = lambda m: RoleConfig(base_url=server.base_url, api_key="k", model=m, max_retries=0)  # noqa: E731
                clients = open_clients(LLMConfig(coder=role("coder"), judge=role("judge")), store, run_id,
                                       prices=PriceTable({}), limit=asyncio.Semaphore(4))  # fmt: skip
                kwargs: dict[str, Any] = {}
                try:
                    from kernelwright.agents.prompt_context import choose_example_ids, prompt_context

                    ids = choose_example_ids(task, target, store)
                    kwargs["context"] = prompt_context(task, target, store=store, example_ids=ids)
                except ImportError:  # the baseline has no prompt context
                    pass
                before = len(server.requests)
                config = LoopConfig(rounds=rounds, candidates=candidates, patience=rounds + 1)

                loop_args = {"coder": clients.coder, "judge": clients.judge, "evaluate": sandbox, "profile": None,
                             "store": store, "run_id": run_id, "config": config, "target": target, **kwargs}  # fmt: skip
                result = asyncio.run(_run_task(optimize_task, task, clients, loop_args))
                calls = server.requests[before:]
                chars = sum(len(m.get("content", "")) for c in calls for m in c.messages)
                words = sum(len(m.get("content", "").split()) for c in calls for m in c.messages)
                done_rounds = len({a.round for a in store.attempts(run_id)})
                results.append({
                    "task": task.key, "status": result.status, "rounds": done_rounds,
                    "coder_calls": sum(c.model == "coder" for c in calls),
                    "judge_calls": sum(c.model == "judge" for c in calls),
                    "evaluations": len(store.attempts(run_id)), "tokens": chars / 4, "words": words,
                })  # fmt: skip
        finally:
            sandbox.close()
            server.stop()
    return results


async def _run_task(optimize_task: Any, task: Any, clients: Any, loop_args: dict[str, Any]) -> Any:
    try:
        return await optimize_task(task, **loop_args)
    finally:
        await clients.aclose()


def run_side(tree: Path, files: list[Path], rounds: int, candidates: int) -> list[dict[str, Any]]:
    env = dict(os.environ, PYTHONPATH=str(tree))
    spec = json.dumps({"files": [str(f) for f in files], "rounds": rounds, "candidates": candidates})
    out = subprocess.run([sys.executable, __file__, "--measure", spec], env=env, cwd=tree,
                         capture_output=True, text=True, check=True)  # fmt: skip
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def summary(rows: list[dict[str, Any]]) -> dict[str, float]:
    rounds = sum(r["rounds"] for r in rows) or 1
    return {
        "tokens per round": sum(r["tokens"] for r in rows) / rounds,
        "words per round": sum(r["words"] for r in rows) / rounds,
        "LLM calls per task": statistics.mean(r["coder_calls"] + r["judge_calls"] for r in rows),
        "Judge calls per task": statistics.mean(r["judge_calls"] for r in rows),
        "evaluations per task": statistics.mean(r["evaluations"] for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--baseline", default="71e1ff6")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--candidates", type=int, default=2)
    parser.add_argument("--limit", type=int, default=19)
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        spec = json.loads(args.measure)
        rows = measure([Path(f) for f in spec["files"]], spec["rounds"], spec["candidates"])
        print(json.dumps(rows))
        return
    with tempfile.TemporaryDirectory() as tmp:
        files = cpu_task_files(Path(tmp) / "tasks", args.limit)
        baseline = Path(tmp) / "baseline"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "-q", "--detach", str(baseline), args.baseline],
                       check=True)  # fmt: skip
        try:
            before = summary(run_side(baseline, files, args.rounds, args.candidates))
            after = summary(run_side(REPO, files, args.rounds, args.candidates))
        finally:
            subprocess.run(
                ["git", "-C", str(REPO), "worktree", "remove", "--force", str(baseline)], check=False
            )
    print(f"{len(files)} level-1 tasks (CPU-sized), {args.rounds} rounds x {args.candidates} candidates, "
          f"scripted server; before = {args.baseline}, after = this checkout")  # fmt: skip
    print(f"{'':24}{'before':>10}{'after':>10}{'ratio':>8}")
    for name in before:
        ratio = after[name] / before[name] if before[name] else float("nan")
        print(f"{name:24}{before[name]:10.1f}{after[name]:10.1f}{ratio:8.2f}")


if __name__ == "__main__":
    main()
