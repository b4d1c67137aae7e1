"""Schema versions: runs the Alembic revisions shipped in `migrations/` programmatically (no
alembic.ini), under a lock, so a blank or older store is brought to head when it is opened."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from kernelwright.errors import StoreError
from kernelwright.store.engine import WRITE_OPTION

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
# Arbitrary but fixed key for PostgreSQL's advisory lock, so concurrent openers migrate one at a time.
_PG_LOCK_KEY = 0x6B77_5354


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the package ships no migrations"
    return head


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade_to(engine: Engine, revision: str, shown_url: str) -> None:
    """Migrates the store to `revision` ("head" normally; tests build old stores with "0001").

    A store stamped with a revision this code does not know was written by a newer kernelwright;
    it is refused rather than touched, so nothing stored is lost."""
    script = ScriptDirectory.from_config(alembic_config())
    known = {rev.revision for rev in script.walk_revisions()}
    target = script.get_current_head() if revision == "head" else revision
    with engine.connect() as probe:
        found = current_revision(probe)
    _refuse_unknown(found, known, shown_url)
    if found == target:
        return  # the common case: no lock, no DDL
    config = alembic_config()
    with engine.execution_options(**{WRITE_OPTION: True}).connect() as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
        # Re-read under the lock: another process may have migrated meanwhile.
        _refuse_unknown(current_revision(conn), known, shown_url)
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def _refuse_unknown(found: str | None, known: set[str], shown_url: str) -> None:
    if found is not None and found not in known:
        raise StoreError(
            f"the store '{shown_url}' has schema revision {found}, newer than this kernelwright "
            f"knows (head {max(known)}); upgrade kernelwright to open it."
        )
