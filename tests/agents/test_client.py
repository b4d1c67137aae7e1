"""The OpenAI client against a real HTTP server: cost, retries, timeouts, and the store log."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from kernelwright.agents.client import LLMError
from kernelwright.agents.config import LLMConfig, RoleConfig
from kernelwright.agents.prices import PriceTable
from kernelwright.agents.wiring import RunClients, open_clients
from kernelwright.errors import ConfigError
from tests.support.openai_server import Reply, ScriptedServer, count_words

KEY = "sk-test-very-secret-key"
FAST_RETRY = {"retry-after-ms": "20"}  # the SDK honours it, so retry tests take milliseconds
MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "write a relu kernel"}]


def make_client(server: ScriptedServer, store, run_id: int, model: str = "gpt-4o-mini", **cfg) -> RunClients:
    """A run's clients as the loop gets them (each call logged to the store); the tests use the Coder."""
    role = RoleConfig(base_url=server.base_url, api_key=KEY, model=model, **cfg)
    llm = LLMConfig(coder=role, judge=role)
    return open_clients(llm, store, run_id, prices=PriceTable.load(), limit=asyncio.Semaphore(4))


def complete(clients: RunClients, messages=MESSAGES):
    async def go():
        try:
            return await clients.coder.complete(messages)
        finally:
            await clients.aclose()

    return asyncio.run(go())


def new_run(store) -> int:
    return store.create_run(
        {"kind": "test"}, coder_model="gpt-4o-mini", judge_model="gpt-4o-mini", gpu_name="none"
    )


def test_cost_is_tokens_times_price_and_call_is_logged(server: ScriptedServer, store) -> None:
    server.script("gpt-4o-mini", [Reply(text="ok " * 10, usage=(1200, 345))])
    run_id = new_run(store)
    reply = complete(make_client(server, store, run_id, temperature=0.2))
    assert (reply.tokens_in, reply.tokens_out) == (1200, 345)
    assert reply.cost_usd == pytest.approx((1200 * 0.15 + 345 * 0.6) / 1e6)
    [call] = store.llm_calls(run_id)
    assert call.role == "coder" and call.model == "gpt-4o-mini" and call.error is None
    assert call.cost_usd == pytest.approx(reply.cost_usd) and (call.tokens_in, call.tokens_out) == (1200, 345)
    assert json.loads(call.prompt) == MESSAGES and call.response == reply.text
    [req] = server.requests
    assert req.body["temperature"] == 0.2 and req.authorization == f"Bearer {KEY}"


def test_user_price_file_extends_the_table(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text('{"my-local-model": {"input_per_mtok": 1.0, "output_per_mtok": 3.0}}')
    table = PriceTable.load(str(path))
    assert table.cost_usd("my-local-model", 1_000_000, 1_000_000) == pytest.approx(4.0)
    assert table.cost_usd("gpt-4o-mini-2024-07-18", 1_000_000, 0) == pytest.approx(0.15)  # longest prefix
    assert table.cost_usd("unknown-model", 10, 10) == 0.0
    path.write_text('{"m": {"input_per_mtok": "cheap"}}')
    with pytest.raises(ConfigError, match="not valid JSON"):
        PriceTable.load(str(path))


def test_429_then_success_is_one_logged_call(server: ScriptedServer, store) -> None:
    server.script("gpt-4o-mini", [Reply(status=429, headers=FAST_RETRY), "fine now"])
    run_id = new_run(store)
    reply = complete(make_client(server, store, run_id))
    assert reply.text == "fine now"
    assert [r.status for r in server.requests] == [429, 200]
    [call] = store.llm_calls(run_id)
    assert call.error is None and call.tokens_out == count_words("fine now")


def test_persistent_500s_fail_transiently_and_are_logged(server: ScriptedServer, store) -> None:
    server.script("gpt-4o-mini", [Reply(status=500, headers=FAST_RETRY)] * 3)
    run_id = new_run(store)
    with pytest.raises(LLMError, match="HTTP 500 after 3 tries") as err:
        complete(make_client(server, store, run_id, max_retries=2))
    assert err.value.transient
    assert len(server.requests) == 3
    [call] = store.llm_calls(run_id)
    assert call.response is None and "HTTP 500" in (call.error or "")


def test_read_timeout_is_not_retried_even_with_retries_left(server: ScriptedServer, store) -> None:
    # a stalled server was generating: a retry would make a slow local model start over
    server.script("gpt-4o-mini", [Reply(text="late", hang_s=3.0), "in time"])
    run_id = new_run(store)
    with pytest.raises(LLMError, match="not retried.*--llm-timeout"):
        complete(make_client(server, store, run_id, timeout_s=0.5, max_retries=3))
    assert len(server.requests) == 1
    assert store.llm_calls(run_id)[0].latency_s >= 0.5


def test_hung_response_without_retries_is_a_timeout_error(server: ScriptedServer, store) -> None:
    server.script("gpt-4o-mini", [Reply(text="late", hang_s=3.0)])
    run_id = new_run(store)
    with pytest.raises(LLMError, match="did not answer within 0.5 s") as err:
        complete(make_client(server, store, run_id, timeout_s=0.5, max_retries=0))
    assert err.value.transient
    assert "did not answer" in (store.llm_calls(run_id)[0].error or "")


def test_bad_key_is_not_transient_and_key_is_never_stored(
    server: ScriptedServer, store, tmp_path: Path
) -> None:
    server.script("gpt-4o-mini", [Reply(status=401, text="invalid api key")])
    run_id = new_run(store)
    with pytest.raises(LLMError, match="refused the API key") as err:
        complete(make_client(server, store, run_id))
    assert not err.value.transient
    store.close()
    assert KEY.encode() not in (tmp_path / "store.db").read_bytes()
