"""Paths checked before any work (issue 11, items 1 and 3): an unwritable --out/--html fails at once
with one sentence and exit 2, before the price note and any LLM call; read-only commands never create
a store and say in one sentence when it is missing or empty."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from kernelwright.store import open_store

# An endpoint nobody answers: had the run started, its calls would fail instead of the path check.
LLM_ENV = {
    "OPENAI_BASE_URL": "http://127.0.0.1:9/v1",
    "OPENAI_API_KEY": "sk-test",
    "KERNELWRIGHT_MODEL": "no-such-priced-model",
}


def kernelwright(
    *args: str, cwd: Path, extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "KERNELWRIGHT_DB"}
    env.update(COLUMNS="200", **(extra or {}))
    command = [sys.executable, "-c", "from kernelwright.cli import main; main()", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, env=env, cwd=cwd)


def one_sentence(result: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("kind", ["file", "proc"])
def test_optimize_refuses_an_unwritable_out_before_any_call(tmp_path: Path, kind: str) -> None:
    if kind == "file":
        out = tmp_path / "a-file"
        out.write_text("")
    else:
        out = Path("/proc/kernelwright-out")
    args = ("optimize", "--task", "relu", "--compile-only", "--out", str(out))
    result = kernelwright(*args, cwd=tmp_path, extra=LLM_ENV)
    assert result.returncode == 2
    assert "--out" in one_sentence(result)
    assert "note:" not in result.stdout  # nothing was printed before the check
    assert not (tmp_path / "store.db").exists()


def test_optimize_checks_the_task_before_the_price_note(tmp_path: Path) -> None:
    result = kernelwright("optimize", "--task", "no_such_task", "--compile-only", cwd=tmp_path, extra=LLM_ENV)
    assert result.returncode == 2
    one_sentence(result)
    assert "no price known" not in result.stdout


def test_a_writable_out_is_probed_without_leaving_folders(tmp_path: Path) -> None:
    from kernelwright.commands.paths import writable_folder

    out = tmp_path / "a" / "b"
    assert writable_folder(out, "--out") == out
    assert not (tmp_path / "a").exists()


def test_report_refuses_a_folder_as_html(tmp_path: Path) -> None:
    result = kernelwright("report", "--html", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    assert "--html" in one_sentence(result)


@pytest.mark.parametrize(
    "args",
    [
        ("leaderboard",),
        ("report", "--html", "r.html"),
        ("show", "1"),
        ("export", "--task", "relu", "-o", "x"),
    ],
)
def test_read_only_commands_create_no_store(tmp_path: Path, args: tuple[str, ...]) -> None:
    result = kernelwright(*args, cwd=tmp_path)
    assert result.returncode == 1
    assert "There is no store at 'sqlite:///store.db'" in one_sentence(result)
    assert not (tmp_path / "store.db").exists()
    assert not (tmp_path / "r.html").exists()


def test_an_empty_store_is_named_empty(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    open_store(url).close()
    result = kernelwright("leaderboard", "--db", url, cwd=tmp_path)
    assert result.returncode == 1
    assert "is empty" in one_sentence(result)


def test_a_database_without_the_schema_is_not_migrated_by_a_reader(tmp_path: Path) -> None:
    other = tmp_path / "other.db"
    other.write_bytes(b"")
    result = kernelwright("leaderboard", "--db", f"sqlite:///{other}", cwd=tmp_path)
    assert result.returncode == 1
    assert "holds no kernelwright store" in one_sentence(result)
    with sqlite3.connect(other) as conn:  # SQLite's WAL switch may write a header, but no tables
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []
