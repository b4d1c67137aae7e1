"""Judge replies through the real client and server: shapes accepted, reminders, raw fallback."""

from __future__ import annotations

import asyncio
import json

from kernelwright.agents.client import OpenAIChatClient
from kernelwright.agents.config import RoleConfig
from kernelwright.agents.judge import Judge
from kernelwright.agents.prices import PriceTable
from tests.support.openai_server import ScriptedServer

FIELDS = {
    "task_key": "level1/19_ReLU",
    "task_source": "src",
    "gpu_facts": "H100",
    "best_summary": "b",
    "best_code": "code",
    "history": "h",
    "current_summary": "c",
    "current_code": "code2",
    "digest": "d",
}


def optimization(server: ScriptedServer) -> str:
    client = OpenAIChatClient("judge", RoleConfig(base_url=server.base_url, api_key="k", model="j", max_retries=0),
                              prices=PriceTable({}))  # fmt: skip

    async def go() -> str:
        try:
            return await Judge(client).optimization(**FIELDS)
        finally:
            await client.aclose()

    return asyncio.run(go())


def test_evidence_as_sentences_is_accepted_without_a_retry(server: ScriptedServer) -> None:
    reply = {
        "bottleneck": "memory",
        "evidence": ["DRAM at 55% of peak"],
        "method": "float4",
        "plan": "vectorize",
    }
    server.script("j", [f"Thinking... then\n{json.dumps(reply)}\ndone."])
    text = optimization(server)
    assert "- DRAM at 55% of peak" in text and "Plan: vectorize" in text
    assert len(server.requests) == 1


def test_missing_field_gets_a_reminder_naming_it(server: ScriptedServer) -> None:
    server.script("j", ['{"bottleneck": "memory"}', '{"bottleneck": "memory", "plan": "PLAN-2"}'])
    assert "Plan: PLAN-2" in optimization(server)
    reminder = server.requests[1].last_user
    assert "plan" in reminder and "Field required" in reminder
