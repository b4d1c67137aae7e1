"""SqlStore is the interfaces.Store Protocol exactly: same methods, same parameters and kinds."""

from __future__ import annotations

import inspect

from kernelwright.interfaces import Store
from kernelwright.store import SqlStore


def _protocol_methods() -> dict[str, inspect.Signature]:
    """Every method Store declares, its own or from StoreReader, StoreWriter and BaselineCache."""
    return {
        name: inspect.signature(member)
        for cls in Store.__mro__
        if cls.__module__ == "kernelwright.interfaces"
        for name, member in vars(cls).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }


def test_sql_store_matches_the_store_protocol() -> None:
    protocol = _protocol_methods()
    assert set(protocol) == {
        "create_run", "finish_run", "add_task", "add_attempt", "add_llm_call", "add_metrics", "put_baseline",
        "get_baseline", "attempts", "attempts_for_task", "attempt", "best", "best_all", "run", "runs", "spent",
        "llm_calls", "task", "best_of_class",
    }  # fmt: skip
    for name, expected in protocol.items():
        actual = inspect.signature(getattr(SqlStore, name))
        assert [(p.name, p.kind, p.default) for p in actual.parameters.values()] == [
            (p.name, p.kind, p.default) for p in expected.parameters.values()
        ], name
        assert str(actual.return_annotation) == str(expected.return_annotation), name
