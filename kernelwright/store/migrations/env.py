"""Alembic environment for the kernelwright store.

Migrations run programmatically from `kernelwright.store.migrate`, which hands over an open
connection (already inside a locked transaction) through `config.attributes["connection"]`; there
is no alembic.ini and no URL here, so the DB URL never has to be written to a file."""

from __future__ import annotations

from alembic import context

from kernelwright.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run kernelwright migrations through kernelwright.store.migrate.upgrade_to_head")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    # SQLite cannot ALTER most things in place; batch mode copies the table instead.
    render_as_batch=True,
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
