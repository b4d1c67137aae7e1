"""The loop end to end: real OpenAI client and HTTP server, real SQLite store; the GPU steps replay
recorded Verdicts/Profiles (tests/agents/fixtures, see their provenance)."""

from __future__ import annotations

import asyncio
import json

from kernelwright.agents.config import LLMConfig, RoleConfig
from kernelwright.agents.loop import LoopConfig, LoopResult, optimize_task
from kernelwright.agents.prices import PriceTable
from kernelwright.agents.wiring import RunClients, open_clients
from kernelwright.contracts import Task
from kernelwright.gpu.target import Target
from tests.support.openai_server import Reply, ScriptedServer
from tests.support.recorded import RecordedEvaluator, candidate_reply

CODER, JUDGE = "coder-m", "judge-m"
DIAGNOSIS = json.dumps(
    {
        "critical_issue": "ISSUE-MARK: the kernel negates x",
        "why_it_matters": "wrong sign",
        "minimal_fix_hint": "fix it",
    }
)
PLAN = (
    "```json\n"
    + json.dumps(
        {
            "bottleneck": "memory bandwidth",
            "evidence": [
                {
                    "metric": "dram__throughput.avg.pct_of_peak_sustained_elapsed",
                    "value": 55,
                    "reading": "low",
                }
            ],
            "method": "vectorized loads",
            "plan": "PLAN-MARK: use float4 loads and a grid-stride loop",
        }
    )
    + "\n```"
)


# What the loop knew of its GPU before the target had its own record: nothing.
TARGET = Target(compile_only=False, arch="sm_90", gpu_name="none", facts="Unknown GPU.")


def open_test_clients(
    server: ScriptedServer, store, run_id: int, prices: PriceTable, retries: int = 3
) -> RunClients:
    def role(model: str) -> RoleConfig:
        return RoleConfig(base_url=server.base_url, api_key="k", model=model, max_retries=retries)

    llm = LLMConfig(coder=role(CODER), judge=role(JUDGE))
    return open_clients(llm, store, run_id, prices=prices, limit=asyncio.Semaphore(8))


def run_loop(
    server: ScriptedServer,
    store,
    task: Task,
    evaluator: RecordedEvaluator,
    run_id: int | None = None,
    prices: PriceTable | None = None,
    on_event=None,
    **cfg,
) -> tuple[LoopResult, int]:
    if run_id is None:
        run_id = store.create_run({"task": task.key}, coder_model=CODER, judge_model=JUDGE, gpu_name="H100")
    store.add_task(task)
    retries = cfg.pop("max_retries", 0)
    clients = open_test_clients(server, store, run_id, prices or PriceTable({}), retries=retries)

    async def go() -> LoopResult:
        try:
            return await optimize_task(
                task,
                coder=clients.coder,
                judge=clients.judge,
                evaluate=evaluator,
                profile=evaluator.profile,
                store=store,
                run_id=run_id,
                config=LoopConfig(**cfg),
                target=TARGET,
                on_event=on_event,
            )
        finally:
            await clients.aclose()

    return asyncio.run(go()), run_id


def markers_by_round(store, run_id: int) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for a in store.attempts(run_id):
        out.setdefault(a.round, []).append(
            a.verdict.status.value + ":" + (a.verdict.speedup_vs_eager or 0).__format__(".2f")
        )
    return {r: sorted(v) for r, v in out.items()}


def test_rounds_reach_optimization_roll_back_and_stop_when_stalled(server, store, relu_task) -> None:
    rounds = [
        ["incorrect", "runtime_error"],
        ["ok_1.10x", "incorrect"],
        ["ok_1.45x", "ok_0.90x"],
        ["ok_0.90x", "suspicious_25x"],
        ["incorrect", "ok_1.10x"],
    ]
    server.script(
        CODER, [candidate_reply(m) for r in rounds for m in r], then=candidate_reply("ok_1.62x_sol92")
    )
    server.script(JUDGE, [DIAGNOSIS] + [PLAN] * 3, then=PLAN)
    ev = RecordedEvaluator()
    result, run_id = run_loop(server, store, relu_task, ev, rounds=8, candidates=2, patience=2)

    assert result.status == "stalled", result.message
    stored = store.attempts(run_id)
    attempts = [a for a in stored if a.mode != "reeval"]
    assert len(attempts) == 10 and len({(a.round, a.candidate_index) for a in attempts}) == 10
    # the 1.45x kernel replaced the 1.10x best only after both were judged again, back to back
    retimed = [(a.round, a.candidate_index, a.verdict.speedup_vs_eager) for a in stored if a.mode == "reeval"]
    assert retimed == [(2, -1, 1.45), (2, -2, 1.10)]
    assert [a.mode for a in sorted(attempts, key=lambda a: a.round)][::2] == [
        "seed",
        "repair",
        "optimize",
        "optimize",
        "optimize",
    ]
    # the suspicious 25x never becomes best; the best is the 1.45x kernel
    assert result.best is not None and result.best.verdict.speedup_vs_eager == 1.45
    assert ev.max_inside == 1  # evaluations one at a time
    assert sorted(ev.profiled) == ["ok_0.90x", "ok_0.90x", "ok_1.10x", "ok_1.10x", "ok_1.45x"]

    coder_prompts = [r.last_user for r in server.requests_for(CODER)]
    repair = coder_prompts[2]
    assert "ISSUE-MARK" in repair and "Outputs differ from the reference" in repair
    # round 4 (after the slower 0.90x round) starts again from the 1.45x best: rolled back
    round4 = coder_prompts[8]
    assert "PLAN-MARK" in round4 and "# verdict: ok_1.45x" in round4 and "# verdict: ok_0.90x" not in round4
    judge_round4 = server.requests_for(JUDGE)[3].last_user
    assert "# verdict: ok_0.90x" in judge_round4 and "# verdict: ok_1.45x" in judge_round4  # current and best
    assert "1.45x vs eager" in judge_round4 and "0.90x vs eager" in judge_round4  # the speedup history
    assert "72% of peak DRAM bandwidth" in judge_round4  # the best kernel's profiler digest
    best_id = result.best_attempt_id
    assert best_id is not None and store.metrics(best_id)


def test_speed_of_light_stops_the_run(server, store, relu_task) -> None:
    server.script(CODER, [candidate_reply("ok_1.62x_sol92")])
    result, run_id = run_loop(server, store, relu_task, RecordedEvaluator(), rounds=5, candidates=1)
    assert result.status == "solved" and "92%" in result.message
    assert len(store.attempts(run_id)) == 1 and server.requests_for(JUDGE) == []


def test_malformed_replies_are_recorded_and_retried_with_a_reminder(server, store, relu_task) -> None:
    server.script(
        CODER,
        [
            "I'd use shared memory.",
            candidate_reply("incorrect"),
            candidate_reply("ok_1.10x"),
            "still no code",
            "and again no code",
        ],
    )
    server.script(JUDGE, ['{"critical_issue": "unterminated', DIAGNOSIS, "not json at all", "nor this"])
    result, run_id = run_loop(
        server, store, relu_task, RecordedEvaluator(), rounds=3, candidates=1, patience=5
    )

    got = [
        (a.round, a.candidate_index, a.verdict.status.value, a.verdict.rule) for a in store.attempts(run_id)
    ]
    assert got == [
        (0, 0, "rejected", "malformed-reply"),
        (0, 1, "incorrect", None),
        (1, 0, "ok", None),
        (2, 0, "rejected", "malformed-reply"),
        (2, 1, "rejected", "malformed-reply"),
    ]
    assert "no fenced code block" in store.attempts(run_id)[0].verdict.message
    coder = server.requests_for(CODER)
    assert "no fenced code block" in coder[1].last_user and len(coder[1].messages) == 4
    judge = server.requests_for(JUDGE)
    assert "no valid JSON" in judge[1].last_user  # the Judge got its reminder
    assert "ISSUE-MARK" in coder[2].last_user  # and its retried answer reached the Coder
    assert "verbatim" in coder[3].last_user and "nor this" in coder[3].last_user
    assert result.status == "done" and result.best is not None


def test_dollar_budget_stops_before_the_next_call(server, store, relu_task) -> None:
    server.script(
        CODER,
        [Reply(text=candidate_reply("incorrect"), usage=(400_000, 1000))],
        then=candidate_reply("ok_1.10x"),
    )
    server.script(JUDGE, [], then=DIAGNOSIS)
    prices = PriceTable.load()
    prices.prices[CODER] = prices.prices["gpt-4o"]
    result, run_id = run_loop(
        server, store, relu_task, RecordedEvaluator(), prices=prices, max_retries=3, rounds=5, candidates=1,
        max_usd=1.0,
    )  # fmt: skip
    assert result.status == "budget" and "$1.01" in result.message
    assert result.cost_usd == (400_000 * 2.5 + 1000 * 10.0) / 1e6
    assert len(server.requests) == 1 and len(store.attempts(run_id)) == 1


def test_resume_does_not_redo_stored_rounds(server, store, relu_task) -> None:
    server.script(CODER, [candidate_reply(m) for m in ["incorrect", "ok_1.10x", "ok_1.45x", "ok_0.90x"]])
    server.script(JUDGE, [DIAGNOSIS, PLAN, PLAN])
    first, run_id = run_loop(server, store, relu_task, RecordedEvaluator(), rounds=2, candidates=1)
    assert first.status == "done" and len(store.attempts(run_id)) == 2
    second, _ = run_loop(server, store, relu_task, RecordedEvaluator(), run_id=run_id, rounds=4, candidates=1)
    attempts = [a for a in store.attempts(run_id) if a.mode != "reeval"]
    assert [(a.round, a.candidate_index) for a in attempts] == [(0, 0), (1, 0), (2, 0), (3, 0)]
    assert len(server.requests_for(CODER)) == 4  # rounds 0 and 1 were not asked again
    assert second.best is not None and second.best.verdict.speedup_vs_eager == 1.45
    # the resumed round 2 optimizes from the best that was reconstructed from the store
    assert "# verdict: ok_1.10x" in server.requests_for(CODER)[2].last_user
    assert attempts[2].parent_attempt_id is not None


def test_endpoint_down_for_every_slot_fails_the_run_in_one_sentence(server, store, relu_task) -> None:
    server.script(CODER, [Reply(status=503)] * 2)
    result, run_id = run_loop(server, store, relu_task, RecordedEvaluator(), rounds=3, candidates=2)
    assert result.status == "failed" and "HTTP 503" in result.message
    assert store.attempts(run_id) == [] and len(store.llm_calls(run_id)) == 2


def test_loop_and_resume_on_postgresql(server, pg_url: str, relu_task) -> None:
    from kernelwright.store import open_store

    server.script(CODER, [candidate_reply(m) for m in ["runtime_error", "ok_1.10x", "ok_1.45x"]])
    server.script(JUDGE, [DIAGNOSIS, PLAN])
    with open_store(pg_url) as store:
        first, run_id = run_loop(server, store, relu_task, RecordedEvaluator(), rounds=1, candidates=1)
        second, _ = run_loop(
            server, store, relu_task, RecordedEvaluator(), run_id=run_id, rounds=3, candidates=1
        )
        assert [a.round for a in store.attempts(run_id) if a.mode != "reeval"] == [0, 1, 2]
        assert second.best is not None and second.best.verdict.speedup_vs_eager == 1.45
        assert len(store.llm_calls(run_id)) == 5


def test_candidates_of_a_round_are_written_in_parallel(server, store, relu_task) -> None:
    server.script(
        CODER,
        [Reply(text=candidate_reply(m), hang_s=0.6) for m in ["incorrect", "ok_1.10x", "runtime_error"]],
    )
    ev = RecordedEvaluator()
    result, run_id = run_loop(server, store, relu_task, ev, rounds=1, candidates=3)
    assert server.max_in_flight == 3  # all three Coder calls were open at once
    assert ev.max_inside == 1  # while the evaluations ran one at a time
    assert sorted(a.candidate_index for a in store.attempts(run_id)) == [0, 1, 2]
    assert result.best is not None and result.best.verdict.speedup_vs_eager == 1.10


def test_token_budget_counts_judge_and_coder_tokens(server, store, relu_task) -> None:
    server.script(
        CODER, [Reply(text=candidate_reply("incorrect"), usage=(1200, 400))], then=candidate_reply("ok_1.10x")
    )
    server.script(JUDGE, [Reply(text=DIAGNOSIS, usage=(800, 200))], then=DIAGNOSIS)
    result, run_id = run_loop(
        server, store, relu_task, RecordedEvaluator(), rounds=5, candidates=1, max_tokens=3000
    )
    # seed (1600 tokens) and the judge (1000) are spent; the Coder's repair prompt alone would
    # cross the budget, so that call is never made
    assert result.status == "budget" and result.tokens == 2600 and "2600 used of 3000" in result.message
    assert [r.model for r in server.requests] == [CODER, JUDGE]
    assert len(store.attempts(run_id)) == 1
