"""`kernelwright show` rendering, in-process on a store the loop filled (real SQLite)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kernelwright.cli import app
from tests.agents.test_loop import CODER, DIAGNOSIS, JUDGE, PLAN, run_loop
from tests.support.recorded import RecordedEvaluator, candidate_reply


def test_show_run_and_task_as_table_and_json(server, store, relu_task, tmp_path: Path) -> None:
    server.script(CODER, [candidate_reply(m) for m in ["incorrect", "ok_1.10x", "suspicious_25x"]])
    server.script(JUDGE, [DIAGNOSIS, PLAN])
    _, run_id = run_loop(server, store, relu_task, RecordedEvaluator(), rounds=3, candidates=1)
    db = f"sqlite:///{tmp_path / 'store.db'}"
    runner = CliRunner()

    table = runner.invoke(app, ["show", str(run_id), "--db", db])
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert any("incorrect" in ln and "repair" not in ln and "seed" in ln for ln in lines)
    assert any("ok" in ln and "1.10x" in ln and "repair" in ln for ln in lines)
    assert any("suspicious" in ln and "25.00x" in ln for ln in lines)
    assert "LLM: 5 calls" in table.output

    data = json.loads(runner.invoke(app, ["show", "level1/19_ReLU", "--json", "--db", db]).output)
    assert [(a["round"], a["status"], a["speedup_vs_eager"]) for a in data["attempts"]] == [
        (0, "incorrect", None),
        (1, "ok", 1.10),
        (2, "suspicious", 25.0),
    ]
    assert data["attempts"][1]["sol_pct"] == 55.0 and data["llm"]["by_role"]["judge"]["calls"] == 2
