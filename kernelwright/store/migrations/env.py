"""Alembic environment for the kernelwright store.

At runtime `kernelwright.store.migrate` hands over an open connection (already inside a locked
transaction) through `config.attributes["connection"]`, so no URL is ever written to a file.
Developers adding a revision use the alembic CLI instead, against $KERNELWRIGHT_DB:
    KERNELWRIGHT_DB=sqlite:///dev.db alembic -c kernelwright/store/alembic.ini revision --autogenerate -m "..."
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from kernelwright.store.models import Base


def run_migrations(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


given = context.config.attributes.get("connection")
if given is not None:
    run_migrations(given)
else:  # the alembic command line, for developers
    from kernelwright.store.engine import StoreConfig, create_store_engine, resolve_url

    engine = create_store_engine(resolve_url(None), StoreConfig())
    with engine.connect() as conn:
        run_migrations(conn)
        conn.commit()
    engine.dispose()
