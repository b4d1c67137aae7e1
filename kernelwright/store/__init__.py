"""The store: runs, tasks, attempts, LLM calls, metrics, the fastest correct attempt per (task, GPU)
and cached baselines, in any SQLAlchemy database (default sqlite:///store.db), schema-versioned
with Alembic. `open_store()` is the entry point."""

from kernelwright.store.engine import DEFAULT_URL, ENV_VAR, StoreConfig, display_url, resolve_url
from kernelwright.store.sql_store import SqlStore, open_store

__all__ = [
    "DEFAULT_URL",
    "ENV_VAR",
    "SqlStore",
    "StoreConfig",
    "display_url",
    "open_store",
    "resolve_url",
]
