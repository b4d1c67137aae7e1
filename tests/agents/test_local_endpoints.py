"""Local and self-hosted endpoints (llama.cpp, vLLM, Ollama) against the scripted OpenAI-protocol
server: the server's reason for a 400 (context overflow), settable timeouts and retries, an output
cap the server honours, a token budget that reserves the next call's worst case, no key for
localhost, LLM concurrency per endpoint with its queue shown, and the wording of the live view."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from rich.console import Console

from kernelwright.agents.budget import Budget, BudgetExceeded, MeteredClient
from kernelwright.agents.call_limit import EndpointLimits
from kernelwright.agents.client import LLMError
from kernelwright.agents.config import LLMConfig, RoleConfig
from kernelwright.agents.endpoints import output_cap_parameter
from kernelwright.agents.feedback import history
from kernelwright.agents.loop import LoopEvent, rounds_text
from kernelwright.agents.prices import PriceTable
from kernelwright.agents.progress_view import ProgressView
from kernelwright.agents.prompt_budget import fitting_history
from kernelwright.agents.run_options import RunOptions
from kernelwright.agents.token_estimate import estimate_tokens
from kernelwright.agents.wiring import RunClients, open_clients
from kernelwright.contracts import Attempt, Status, Verdict
from kernelwright.errors import KernelwrightError
from tests.agents.test_loop import CODER, JUDGE, run_loop
from tests.support.openai_server import Reply, ScriptedServer
from tests.support.recorded import RecordedEvaluator, candidate_reply

MODEL = "local-m"
MESSAGES = [{"role": "user", "content": "write a relu kernel"}]
OVERFLOW = (
    "This model's maximum context length is 1024 tokens. However, you requested 2731 tokens "
    "(2219 in the messages, 512 in the completion)."
)


def clients(server: ScriptedServer, store, run_id: int, limit: Any = None, **cfg: Any) -> RunClients:
    role = RoleConfig(base_url=server.base_url, model=MODEL, **cfg)  # no key: the server is local
    llm = LLMConfig(coder=role, judge=role)
    return open_clients(llm, store, run_id, prices=PriceTable({}), limit=limit or asyncio.Semaphore(4))


def new_run(store) -> int:
    return store.create_run({"kind": "test"}, coder_model=MODEL, judge_model=MODEL, gpu_name="none")


def call(run: RunClients, n: int = 1) -> list[Any]:
    async def go() -> list[Any]:
        try:
            return await asyncio.gather(*(run.coder.complete(MESSAGES) for _ in range(n)))
        finally:
            await run.aclose()

    return asyncio.run(go())


# 1. context overflow: the server's reason and what to do; a prompt budget that trims history first


def test_context_overflow_says_the_servers_reason_and_what_to_do(server: ScriptedServer, store) -> None:
    server.script(MODEL, [Reply(status=400, text=OVERFLOW, code="context_length_exceeded")])
    run_id = new_run(store)
    with pytest.raises(LLMError) as err:
        call(clients(server, store, run_id))
    text = str(err.value)
    assert "maximum context length is 1024 tokens" in text and "context_length_exceeded" in text
    assert "raise the server's context" in text and "--prompt-tokens" in text and "\n" not in text
    assert not err.value.transient
    assert "maximum context length is 1024" in (store.llm_calls(run_id)[0].error or "")


def test_other_400s_carry_the_servers_reason_without_the_context_advice(
    server: ScriptedServer, store
) -> None:
    server.script(MODEL, [Reply(status=400, text="'temperature' must be at most 2")])
    with pytest.raises(LLMError, match="HTTP 400: 'temperature' must be at most 2") as err:
        call(clients(server, store, new_run(store)))
    assert "context" not in str(err.value)


def _attempt(i: int) -> Attempt:
    return Attempt(
        run_id=1,
        task_key="level1/19_ReLU",
        round=i,
        candidate_index=0,
        mode="repair",
        code="x",
        verdict=Verdict(status=Status.incorrect, message=f"attempt {i} was wrong " * 5),
    )


def test_prompt_budget_trims_the_history_first_keeping_the_latest() -> None:
    attempts = [_attempt(i) for i in range(30)]
    fixed = 600  # the rest of the prompt: reference, code, error

    def size(text: str) -> int:
        return fixed + estimate_tokens(text)

    assert fitting_history(attempts, None, size) == history(attempts)
    trimmed = fitting_history(attempts, 1000, size)
    assert size(trimmed) <= 1000 < size(history(attempts))
    assert "earlier attempts omitted" in trimmed and "round 29" in trimmed and "round 0," not in trimmed


def test_prompt_budget_reaches_the_judges_prompt_in_the_loop(server, store, relu_task) -> None:
    # two failed rounds, then the Judge's third prompt must fit a small budget: its history shrinks
    server.script(CODER, [], then=candidate_reply("incorrect"))
    server.script(JUDGE, [], then='{"critical_issue": "wrong sign"}')
    run_loop(server, store, relu_task, RecordedEvaluator(), rounds=4, candidates=2, patience=9)
    full = server.requests_for(JUDGE)[-1].last_user
    server.requests.clear()
    run_loop(
        server, store, relu_task, RecordedEvaluator(), rounds=4, candidates=2, patience=9, prompt_tokens=256
    )
    small = server.requests_for(JUDGE)[-1].last_user
    assert "earlier attempts omitted" in small and "earlier attempts omitted" not in full
    assert len(small) < len(full)


# 2. timeouts and retries are settable; a read timeout is never retried (tests/agents/test_client.py)


def test_timeout_and_retries_come_from_flags_then_environment() -> None:
    env = {"KERNELWRIGHT_LLM_TIMEOUT": "900", "KERNELWRIGHT_LLM_RETRIES": "0"}
    from_env = RunOptions().llm(env)
    assert (from_env.coder.timeout_s, from_env.judge.max_retries) == (900.0, 0)
    flags = RunOptions(llm_timeout=60, llm_retries=5).llm(env)
    assert (flags.coder.timeout_s, flags.judge.max_retries) == (60.0, 5)
    assert (RunOptions().llm({}).coder.timeout_s, RunOptions().llm({}).coder.max_retries) == (300.0, 3)


def test_cli_has_the_new_llm_flags() -> None:
    from typer.testing import CliRunner

    from kernelwright.cli import app

    out = CliRunner().invoke(app, ["optimize", "--help"], env={"COLUMNS": "200"}).output
    for flag in ("--llm-timeout", "--llm-retries", "--max-output-tokens", "--llm-concurrency", "--no-api-key",
                 "--prompt-tokens"):  # fmt: skip
        assert flag in out, flag


def test_5xx_is_retried_but_a_stall_is_not(server: ScriptedServer, store) -> None:
    server.script(MODEL, [Reply(status=503, headers={"retry-after-ms": "10"}), "fine"])
    [reply] = call(clients(server, store, new_run(store), max_retries=2))
    assert reply.text == "fine" and len(server.requests) == 2


# 3. an output cap the server honours, and finish_reason stored


def test_output_cap_is_sent_as_max_tokens_and_a_cut_reply_is_stored_as_length(
    server: ScriptedServer, store
) -> None:
    server.script(MODEL, ["one two three four five six"])
    run_id = new_run(store)
    [reply] = call(clients(server, store, run_id, max_tokens=3))
    [req] = server.requests
    assert req.body["max_tokens"] == 3 and "max_completion_tokens" not in req.body
    assert reply.text == "one two three" and reply.finish_reason == "length"
    assert store.llm_calls(run_id)[0].finish_reason == "length"


def test_only_openais_reasoning_models_get_max_completion_tokens() -> None:
    assert output_cap_parameter("https://api.openai.com/v1", "o3-mini") == "max_completion_tokens"
    assert output_cap_parameter("https://api.openai.com/v1", "gpt-4o-mini") == "max_tokens"
    assert output_cap_parameter("http://127.0.0.1:8080/v1", "o3-like-local") == "max_tokens"
    assert RunOptions(max_output_tokens=512).llm({}).coder.max_tokens == 512
    assert RunOptions().llm({"KERNELWRIGHT_MAX_OUTPUT_TOKENS": "256"}).judge.max_tokens == 256


# 4. the token budget reserves the next call's prompt and output cap


def test_token_budget_never_overshoots(server: ScriptedServer, store) -> None:
    server.script(MODEL, [Reply(text="a", usage=(1500, 800))], then="b")
    budget = Budget(max_tokens=3000, output_cap=1000)
    run = clients(server, store, new_run(store), max_tokens=1000)
    metered = MeteredClient(run.coder, budget)

    async def go() -> None:
        try:
            await metered.complete(MESSAGES)  # worst case ~1000 of 3000: made
            with pytest.raises(BudgetExceeded, match="2300 used of 3000"):
                await metered.complete(MESSAGES)  # 2300 + ~1000 would overshoot: not made
        finally:
            await run.aclose()

    asyncio.run(go())
    assert len(server.requests) == 1 and budget.spent_tokens <= 3000
    assert RunOptions(max_output_tokens=700).loop({}).max_output_tokens == 700


# 5. no key for a server on this machine, or with --no-api-key


def test_localhost_needs_no_key_and_gets_no_real_one(server: ScriptedServer, store) -> None:
    assert RoleConfig(base_url=server.base_url, model=MODEL).missing() == []
    server.script(MODEL, ["hi"])
    call(clients(server, store, new_run(store)))
    assert server.requests[0].authorization == "Bearer none"


def test_a_remote_endpoint_needs_a_key_unless_told_otherwise() -> None:
    remote = {"OPENAI_BASE_URL": "https://llm.example.com/v1", "KERNELWRIGHT_MODEL": "m"}
    assert RunOptions().llm(remote).missing() == ["coder API key", "judge API key"]
    assert RunOptions(no_api_key=True).llm(remote).missing() == []
    assert RunOptions().llm(remote | {"KERNELWRIGHT_NO_API_KEY": "1"}).missing() == []


# 6. LLM concurrency per endpoint, settable, its queue visible


def test_concurrency_is_per_endpoint_and_queueing_is_shown(server: ScriptedServer, store) -> None:
    server.script(MODEL, [], then=Reply(text="slow", hang_s=0.3))
    limits = EndpointLimits(1)
    run = clients(server, store, new_run(store), limit=limits)
    view = ProgressView("level1/19_ReLU", 1, 4, limits=limits)
    seen: list[str] = []

    async def go() -> None:
        try:
            calls = asyncio.gather(*(run.coder.complete(MESSAGES) for _ in range(4)))
            await asyncio.sleep(0.1)
            seen.append(render(view))
            await calls
        finally:
            await run.aclose()

    asyncio.run(go())
    assert server.max_in_flight == 1
    assert "1 in flight, 3 queued (limit 1 per endpoint, --llm-concurrency)" in seen[0]
    assert "queued" not in render(view)
    assert RunOptions(llm_concurrency=1).llm({}).max_concurrency == 1
    assert RunOptions().llm({"KERNELWRIGHT_LLM_CONCURRENCY": "2"}).max_concurrency == 2


def test_two_servers_each_get_their_own_limit() -> None:
    limits = EndpointLimits(1)
    assert limits.for_url("http://a:1/v1") is limits.for_url("http://a:1/v1/")
    assert limits.for_url("http://a:1/v1") is not limits.for_url("http://b:1/v1")


# 7. wording


def render(view: ProgressView) -> str:
    console = Console(width=200, record=True)
    console.print(view)
    return console.export_text()


def test_one_round_is_singular() -> None:
    assert (rounds_text(1), rounds_text(3)) == ("1 round", "3 rounds")


def test_format_reminder_retry_is_the_same_candidate_in_the_view(server, store, relu_task) -> None:
    server.script(CODER, ["no code here", candidate_reply("ok_1.10x")])
    events: list[LoopEvent] = []
    view = ProgressView("level1/19_ReLU", 1, 1)

    def both(e: LoopEvent) -> None:
        events.append(e)
        view.on_event(e)

    _, run_id = run_loop(server, store, relu_task, RecordedEvaluator(), on_event=both, rounds=1, candidates=1)
    assert sorted(a.candidate_index for a in store.attempts(run_id)) == [0, 1]  # both stored
    assert {e.candidate_index for e in events if e.kind != "round"} == {0}  # one candidate shown
    assert list(view.slots) == [0]


def test_compile_only_view_says_compiled_not_best_ok() -> None:
    ok = Attempt(
        run_id=1, task_key="t", round=0, candidate_index=0, mode="seed", code="x",
        verdict=Verdict(status=Status.ok),
    )  # fmt: skip
    view = ProgressView("t", 1, 1, compile_only=True)
    assert "nothing compiled yet" in render(view)
    view.on_event(LoopEvent("attempt", 0, 0, "ok", ok))
    text = render(view)
    assert "compiled" in text and "best" not in text and " ok" not in text


def test_a_failed_compile_only_run_says_compiled_no_kernel() -> None:
    from kernelwright.agents.loop import LoopResult
    from kernelwright.agents.session import RunSummary
    from kernelwright.commands.optimize import _print_summary

    summary = RunSummary(
        result=LoopResult(run_id=7, task_key="t", status="done", message="m"), best_path=None
    )
    with pytest.raises(KernelwrightError, match="Run 7 compiled no kernel"):
        _print_summary(summary, compile_only=True)
    with pytest.raises(KernelwrightError, match="Run 7 found no correct kernel"):
        _print_summary(summary, compile_only=False)


def test_a_bad_environment_limit_is_one_sentence() -> None:
    from kernelwright.errors import ConfigError

    with pytest.raises(ConfigError, match="timeout_s: .*KERNELWRIGHT_LLM_TIMEOUT"):
        RunOptions().llm({"KERNELWRIGHT_LLM_TIMEOUT": "soon"})


def test_the_view_shows_the_loops_best_after_retiming_not_the_luckiest_reading() -> None:
    def attempt(speedup: float) -> Attempt:
        return Attempt(run_id=1, task_key="t", round=0, candidate_index=0, mode="optimize", code="x",
                       verdict=Verdict(status=Status.ok, speedup_vs_eager=speedup))  # fmt: skip

    view = ProgressView("t", 2, 1)
    view.on_event(LoopEvent("attempt", 1, 0, "ok", attempt(1.43)))
    assert "best 1.43x" in render(view)
    view.on_event(LoopEvent("best", 1, 0, attempt=attempt(1.07)))  # the re-timing kept the old best
    assert "best 1.07x" in render(view)
