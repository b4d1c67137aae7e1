"""A store that cannot be opened says why in one sentence naming the URL, never its password, and
exits non-zero through the CLI's KernelwrightError handling; the URL is resolved --db > env > default."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kernelwright.errors import StoreError
from kernelwright.store import DEFAULT_URL, open_store, resolve_url


def _refused(url: str) -> str:
    with pytest.raises(StoreError) as caught:
        open_store(url)
    message = str(caught.value)
    assert "\n" not in message and message.endswith(".") and caught.value.exit_code != 0
    assert caught.value.__cause__ is None, "the driver exception must not travel with the sentence"
    return message


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("not a url", "'not a url' is not a database URL"),
        ("foodb://localhost/kw", "names an unknown database kind 'foodb'"),
        ("postgresql+nosuchdriver://kw@localhost/kw", "unknown database kind 'postgresql+nosuchdriver'"),
    ],
)
def test_malformed_or_unknown_urls(url: str, expected: str) -> None:
    assert expected in _refused(url)


def test_missing_driver_is_named_and_password_hidden() -> None:
    pytest.importorskip("psycopg")  # the driver that IS installed; asyncmy below is not a dependency
    message = _refused("mysql+asyncmy://kw:hunter2@localhost/kw")
    assert "is not installed" in message and "asyncmy" in message
    assert "hunter2" not in message and "kw:***@localhost" in message


def test_unreachable_server_names_the_url_without_password() -> None:
    port = _free_port()  # nothing listens there once the probe socket is closed
    message = _refused(f"postgresql+psycopg://kw:hunter2@127.0.0.1:{port}/kw")
    assert message.startswith(
        f"cannot connect to the store 'postgresql+psycopg://kw:***@127.0.0.1:{port}/kw'"
    )
    assert "hunter2" not in message


def test_unusable_sqlite_paths(tmp_path: Path) -> None:
    missing = tmp_path / "no" / "such" / "dir" / "store.db"
    assert f"directory '{missing.parent}' does not exist" in _refused(f"sqlite:///{missing}")
    assert "points at a directory" in _refused(f"sqlite:///{tmp_path}")
    junk = tmp_path / "notes.txt"
    junk.write_text("these are notes, not a database\n" * 200)
    assert "file is not a database" in _refused(f"sqlite:///{junk}")
    assert junk.read_text().startswith("these are notes"), "a foreign file must not be modified"
    # Not writable even by root: the message names the store either way (access check or SQLite's).
    message = _refused("sqlite:////proc/store.db")
    assert message.startswith("cannot ") and "'sqlite:////proc/store.db'" in message
    assert "unable to open database file" in message or "is not writable" in message


def test_url_resolution_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KERNELWRIGHT_DB", raising=False)
    assert resolve_url(None) == DEFAULT_URL == "sqlite:///store.db"
    monkeypatch.setenv("KERNELWRIGHT_DB", f"sqlite:///{tmp_path / 'env.db'}")
    assert resolve_url(None) == f"sqlite:///{tmp_path / 'env.db'}"
    assert resolve_url("sqlite:///flag.db") == "sqlite:///flag.db"

    open_store().close()
    assert (tmp_path / "env.db").is_file()
    monkeypatch.delenv("KERNELWRIGHT_DB")
    monkeypatch.chdir(tmp_path)
    store = open_store()
    store.create_run({}, coder_model="c", judge_model="j", gpu_name="none")
    store.close()
    assert (tmp_path / "store.db").is_file(), "the default store lives in the working directory"


def test_cli_turns_a_bad_store_url_into_one_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    port = _free_port()
    for url, reason in [
        ("foodb://localhost/kw", "unknown database kind"),
        (f"postgresql+psycopg://kw:hunter2@127.0.0.1:{port}/kw", "cannot connect to the store"),
    ]:
        done = subprocess.run(
            [sys.executable, "-c", "from kernelwright.cli import main; main()", "leaderboard", "--db", url],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )
        assert done.returncode != 0
        assert "Traceback" not in done.stderr and reason in done.stderr and "hunter2" not in done.stderr
        assert len(done.stderr.strip().splitlines()) == 1, done.stderr
