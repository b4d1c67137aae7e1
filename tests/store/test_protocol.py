"""SqlStore is the interfaces.Store Protocol exactly: same methods, same parameters and kinds."""

from __future__ import annotations

import inspect

from kernelwright.interfaces import Store
from kernelwright.store import SqlStore


def test_sql_store_matches_the_store_protocol() -> None:
    protocol_methods = {
        name
        for name, member in vars(Store).items()
        if inspect.isfunction(member) and not name.startswith("_")
    }
    assert protocol_methods == {
        "create_run", "finish_run", "add_task", "add_attempt", "add_llm_call", "add_metrics", "attempts", "best",
    }  # fmt: skip
    for name in protocol_methods:
        expected = inspect.signature(getattr(Store, name))
        actual = inspect.signature(getattr(SqlStore, name))
        assert [(p.name, p.kind, p.default) for p in actual.parameters.values()] == [
            (p.name, p.kind, p.default) for p in expected.parameters.values()
        ], name
        assert str(actual.return_annotation) == str(expected.return_annotation), name
