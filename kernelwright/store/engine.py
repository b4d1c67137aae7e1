"""Store settings, URL resolution and engine creation, and the translation of driver failures into
one-sentence StoreErrors that name the URL (with the password hidden)."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError

from kernelwright.errors import StoreError

DEFAULT_URL = "sqlite:///store.db"
ENV_VAR = "KERNELWRIGHT_DB"
# Execution option that makes a SQLite transaction take the write lock at BEGIN, so two writers
# queue on the busy timeout instead of one failing when it upgrades a read lock mid-transaction.
WRITE_OPTION = "kernelwright_write"


class StoreConfig(BaseModel):
    """Settings of the store."""

    url: str | None = Field(
        None,
        description=f"SQLAlchemy URL; None means ${ENV_VAR}, else {DEFAULT_URL} in the working directory.",
    )
    busy_timeout_s: float = Field(
        30.0, description="How long a SQLite writer waits for another process's lock before failing."
    )
    connect_timeout_s: int = Field(10, description="How long to wait for a database server to answer.")
    sqlite_synchronous: Literal["NORMAL", "FULL"] = Field(
        "NORMAL",
        description="SQLite fsync policy; NORMAL with WAL survives a killed process, FULL also power loss.",
    )
    echo: bool = Field(False, description="Log every SQL statement (debugging).")


def resolve_url(url: str | None) -> str:
    """--db wins, then $KERNELWRIGHT_DB, then sqlite:///store.db in the working directory."""
    return url or os.environ.get(ENV_VAR) or DEFAULT_URL


def display_url(url: str) -> str:
    """The URL as it may be shown to a user: password replaced by ***."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def first_line(err: BaseException) -> str:
    """The driver's own reason, reduced to one line (SQLAlchemy appends SQL and a help link)."""
    orig = getattr(err, "orig", None) or err
    text = str(orig).strip().splitlines()
    return (text[0] if text else type(orig).__name__).rstrip(".")


def create_store_engine(url: str, config: StoreConfig) -> Engine:
    """An engine for `url`, with SQLite set to WAL, foreign keys on and a busy timeout."""
    shown = display_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"'{shown}' is not a database URL (expected e.g. {DEFAULT_URL}).") from None
    if parsed.get_backend_name() == "sqlite":
        _check_sqlite_path(parsed, shown)
    try:
        engine = create_engine(parsed, echo=config.echo, **_engine_kwargs(parsed, config))
    except NoSuchModuleError:
        raise StoreError(
            f"the store URL '{shown}' names an unknown database kind '{parsed.drivername}'."
        ) from None
    except ImportError as err:
        raise StoreError(
            f"the database driver for '{shown}' is not installed ({err.name or err}); "
            "install it or pick another driver in the URL."
        ) from None
    except SQLAlchemyError as err:
        raise StoreError(f"cannot use the store URL '{shown}': {first_line(err)}.") from None
    if parsed.get_backend_name() == "sqlite":
        _install_sqlite_hooks(engine, config)
    return engine


def _engine_kwargs(url: URL, config: StoreConfig) -> dict[str, Any]:
    backend = url.get_backend_name()
    if backend == "sqlite":
        return {"connect_args": {"timeout": config.busy_timeout_s}}
    kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if backend in ("postgresql", "mysql", "mariadb"):
        kwargs["connect_args"] = {"connect_timeout": config.connect_timeout_s}
    return kwargs


def _check_sqlite_path(url: URL, shown: str) -> None:
    """Fail before SQLite's bare 'unable to open database file' with the actual reason."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)  # SQLite does not expand ~, so neither does this check
    if path.is_dir():
        raise StoreError(f"the store '{shown}' points at a directory, not a file.")
    if not path.parent.is_dir():
        raise StoreError(f"cannot create the store '{shown}': directory '{path.parent}' does not exist.")
    target = path if path.exists() else path.parent
    if not os.access(target, os.W_OK):
        raise StoreError(f"cannot write the store '{shown}': '{target}' is not writable.")


def _switch_to_wal(cursor: Any, wait_s: float) -> None:
    """WAL is persistent, so this only matters for a new file; but several workers may create the
    store at once, and SQLite refuses the switch without an error (it returns the old mode) while
    another connection holds a lock, so retry briefly (creation locks last milliseconds; a file system
    that cannot do WAL at all must not cost every connection the whole busy timeout)."""
    deadline = time.monotonic() + min(wait_s, 2.0)
    while True:
        mode = str(cursor.execute("PRAGMA journal_mode=WAL").fetchone()[0]).lower()
        if mode in ("wal", "memory") or time.monotonic() > deadline:
            return
        time.sleep(0.02)


def _install_sqlite_hooks(engine: Engine, config: StoreConfig) -> None:
    busy_ms = int(config.busy_timeout_s * 1000)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 module; the "begin" hook below emits BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
            _switch_to_wal(cursor, config.busy_timeout_s)
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA synchronous={config.sqlite_synchronous}")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        writing = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")
