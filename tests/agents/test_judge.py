"""Judge replies through the real client and server: shapes accepted, reminders, raw fallback."""

from __future__ import annotations

import asyncio
import json

from kernelwright.agents.client import OpenAIChatClient
from kernelwright.agents.config import RoleConfig
from kernelwright.agents.judge import Advice, Judge
from kernelwright.agents.prices import PriceTable
from tests.support.openai_server import ScriptedServer

FIELDS = {
    "task_key": "level1/19_ReLU",
    "task_source": "src",
    "gpu_facts": "H100",
    "policy": "",
    "best_summary": "b",
    "best_code": "code",
    "history": "h",
    "current_summary": "c",
    "current_code": "code2",
    "digest": "d",
    "runner_up": "",
    "plans_wanted": "up to 2 plans",
}


def optimization(server: ScriptedServer) -> str:
    return "\n".join(a.text for a in plans(server))


def plans(server: ScriptedServer) -> list[Advice]:
    client = OpenAIChatClient("judge", RoleConfig(base_url=server.base_url, api_key="k", model="j", max_retries=0),
                              prices=PriceTable({}))  # fmt: skip

    async def go() -> list[Advice]:
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


def test_ranked_plans_keep_their_order_idea_and_parent(server: ScriptedServer) -> None:
    reply = {
        "plans": [
            {"bottleneck": "memory", "method": "float4 loads", "plan": "vectorize", "parent": "best"},
            {"bottleneck": "latency", "method": "", "plan": "fewer blocks", "parent": "runner_up"},
        ]
    }
    server.script("j", [f"```json\n{json.dumps(reply)}\n```"])
    got = plans(server)
    assert [a.idea for a in got] == ["float4 loads", "latency"]  # no method: the bottleneck names it
    assert [a.from_runner_up for a in got] == [False, True]
    assert "Plan: vectorize" in got[0].text and "Plan: fewer blocks" in got[1].text
    assert "up to 2 plans" in server.requests[0].last_user


def test_an_empty_plan_list_gets_a_reminder(server: ScriptedServer) -> None:
    server.script("j", ['{"plans": []}', '{"plans": [{"bottleneck": "memory", "plan": "P"}]}'])
    got = plans(server)
    assert len(got) == 1 and "Plan: P" in got[0].text
    assert "plans" in server.requests[1].last_user
