"""The store's sessions: every write is one transaction (taking SQLite's write lock up front), every
read a short one, and a driver failure inside either becomes a StoreError naming the store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kernelwright.errors import StoreError
from kernelwright.store.engine import WRITE_OPTION, display_url, first_line


class StoreSessions:
    """Owns the engine; subclasses add the writes and queries."""

    def __init__(self, engine: Engine, url: str):
        self._engine = engine
        self.url = url
        self.shown_url = display_url(url)
        self.dialect = engine.dialect.name
        self._reader = sessionmaker(bind=engine, expire_on_commit=False)
        self._writer = sessionmaker(
            bind=engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )

    @property
    def engine(self) -> Engine:
        return self._engine

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> StoreSessions:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back entirely if it raises."""
        try:
            with self._writer.begin() as session:
                yield session
        except IntegrityError as err:
            raise StoreError(f"the store '{self.shown_url}' refused the write: {first_line(err)}.") from None
        except OperationalError as err:
            raise StoreError(f"could not write to the store '{self.shown_url}': {first_line(err)}.") from None
        except SQLAlchemyError as err:
            raise StoreError(f"the store '{self.shown_url}' failed a write: {first_line(err)}.") from None

    @contextmanager
    def _read(self) -> Iterator[Session]:
        try:
            with self._reader() as session:
                yield session
        except SQLAlchemyError as err:
            raise StoreError(f"could not read the store '{self.shown_url}': {first_line(err)}.") from None

    def _upsert_insert(self) -> Any:
        """The dialect's INSERT with ON CONFLICT support, or None where there is none."""
        return {"sqlite": sqlite.insert, "postgresql": postgresql.insert}.get(self.dialect)
