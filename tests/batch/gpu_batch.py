"""For scripts/gpu-check.d/60-batch.sh on an NVIDIA machine (no network there): serves the prompt-keyed
scripted LLM (tests/batch/keyed_server.py) and runs the real CLI on it: a 3-task batch through the
real Sandbox, then `leaderboard` and `report --html`. Writes everything under --out, including the
Verdicts measured, in the fixture format of tests/batch/fixtures (to replace the hand-written ones).

    python3 tests/batch/gpu_batch.py --out DIR
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository: tests.batch

from tests.batch.keyed_server import CODER, JUDGE, KeyedServer  # noqa: E402

TASKS = "level1/1[239]_*"  # 12_GELU, 13_SiLU, 19_ReLU: the scripted replies are correct kernels for them


def kw(args: list[str], env: dict[str, str], log: Path, timeout_s: float = 20) -> int:
    start = time.monotonic()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "kernelwright", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )
    except subprocess.TimeoutExpired as err:
        log.write_text(f"timed out after {timeout_s} s\n{err.stdout or ''}\n{err.stderr or ''}")
        print(f"$ kernelwright {' '.join(args)}  -> timed out after {timeout_s} s")
        return 124
    log.write_text(done.stdout + "\n--- stderr ---\n" + done.stderr)
    print(f"$ kernelwright {' '.join(args)}  -> rc={done.returncode} in {time.monotonic() - start:.1f} s")
    print(done.stdout[-2500:])
    if done.returncode:
        print(done.stderr[-2000:])
    return done.returncode


def dump_verdicts(db: str, out: Path) -> None:
    from kernelwright.store import open_store

    store = open_store(db)
    folder = out / "verdicts"
    folder.mkdir(exist_ok=True)
    for run in store.runs():
        if run.config.get("kind") != "batch-task":
            continue
        for i, a in enumerate(store.attempts(run.id)):
            name = f"{a.task_key.split('/')[-1]}_r{a.round}_{i}_{a.verdict.status.value}.json"
            record = {"provenance": f"Recorded on {a.verdict.gpu_name} by scripts/gpu-check.d/60-batch.sh",
                      "verdict": a.verdict.model_dump(mode="json")}  # fmt: skip
            (folder / name).write_text(json.dumps(record, indent=1) + "\n")
    store.close()


def write_json_leaderboard(db: str, path: Path) -> None:
    from kernelwright.report.build import leaderboard_from_engine
    from kernelwright.report.tables import to_json
    from kernelwright.store import open_store

    store = open_store(db)
    path.write_text(to_json(leaderboard_from_engine(store.engine)))
    store.close()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    out = Path(ap.parse_args().out)
    out.mkdir(parents=True, exist_ok=True)
    db = f"sqlite:///{out / 'batch.db'}"
    with_server = KeyedServer().start()
    env = {**os.environ, "OPENAI_BASE_URL": with_server.base_url, "OPENAI_API_KEY": "sk-local",
           "KERNELWRIGHT_CODER_MODEL": CODER, "KERNELWRIGHT_JUDGE_MODEL": JUDGE, "COLUMNS": "160"}  # fmt: skip
    try:
        rc = kw(["batch", "bundled", "--tasks", TASKS, "--rounds", "2", "--candidates", "1", "--patience", "1",
                 "--no-profile", "--db", db], env, out / "batch.log", timeout_s=60)  # fmt: skip
        kw(["leaderboard", "--db", db], env, out / "leaderboard.txt")
        kw(["report", "--html", str(out / "report.html"), "--db", db], env, out / "report.log")
        dump_verdicts(db, out)
        write_json_leaderboard(db, out / "leaderboard.json")
    finally:
        with_server.stop()
    sys.exit(rc)


if __name__ == "__main__":
    main()
