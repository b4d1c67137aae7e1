"""ReplayChat in front of the real OpenAI client and the scripted server: stored replies are served
without a request (and cost nothing again), also when the loop lists the same lines in another
order; a prompt with other content goes to the endpoint."""

from __future__ import annotations

import asyncio
import json

from kernelwright.agents.client import OpenAIChatClient
from kernelwright.agents.config import RoleConfig
from kernelwright.agents.prices import PriceTable
from kernelwright.batch.replay import ReplayChat
from kernelwright.contracts import LLMCall
from tests.batch.keyed_server import CODER, KeyedServer


def _stored(messages: list[dict[str, str]], response: str) -> LLMCall:
    return LLMCall(role="coder", model=CODER, prompt=json.dumps(messages), response=response, cost_usd=0.5)


def test_replay_serves_stored_replies_and_forwards_new_prompts(llm_server: KeyedServer) -> None:
    role = RoleConfig(base_url=llm_server.base_url, api_key="sk-test", model=CODER, max_retries=0)
    first = [{"role": "user", "content": "round 0, candidate 0: ok\nround 0, candidate 1: incorrect"}]
    reordered = [{"role": "user", "content": "round 0, candidate 1: incorrect\nround 0, candidate 0: ok"}]
    other = [{"role": "user", "content": "round 0, candidate 0: ok\nround 0, candidate 1: crashed"}]

    async def run() -> list[str]:
        inner = OpenAIChatClient("coder", role, prices=PriceTable.load())
        chat = ReplayChat(inner, [_stored(first, "stored A"), _stored(first, "stored B")])
        try:
            replies = [await chat.complete(m) for m in (first, reordered, other)]
        finally:
            await inner.aclose()
        assert (chat.meter.replayed, chat.meter.calls) == (2, 1)
        assert [r.cost_usd for r in replies[:2]] == [0.0, 0.0] and replies[0].tokens_in == 0
        return [r.text for r in replies]

    before = len(llm_server.requests_for(CODER))
    texts = asyncio.run(run())
    assert texts[:2] == ["stored A", "stored B"]  # each stored call is served once
    assert "# verdict:" in texts[2]  # the endpoint answered the new prompt
    assert len(llm_server.requests_for(CODER)) == before + 1
