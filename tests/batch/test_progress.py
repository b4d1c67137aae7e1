"""The live view and the end summary show tasks done, best speedups, ETA and dollars."""

from __future__ import annotations

import time

from rich.console import Console

from kernelwright.batch.pools import LocalPool
from kernelwright.batch.progress import BatchView, summary_lines
from kernelwright.batch.runner import BatchState, TaskOutcome
from tests.support.recorded import batch_evaluator


def test_view_and_summary_show_progress_speedups_eta_and_dollars() -> None:
    state = BatchState(batch_run_id=7, total=4, started=time.monotonic() - 60)
    state.outcomes += [
        TaskOutcome("level1/19_ReLU", 11, "done", 2.1, 6),
        TaskOutcome("level1/12_GELU", 12, "skipped", 1.3, 4, "done before"),
        TaskOutcome("level1/13_SiLU", 13, "failed", None, 0, "LLMError: endpoint refused the key"),
    ]
    state.running.add("level1/6_Softmax")
    state.meter.cost_usd, state.meter.calls, state.meter.replayed = 0.1234, 9, 2
    pool = LocalPool([batch_evaluator()])
    try:
        console = Console(record=True, width=200)
        console.print(BatchView({"state": state}, 4, pool))
    finally:
        pool.close()
    text = console.export_text()
    assert "tasks 3/4 (skipped 1, failed 1)" in text and "agents running 1" in text
    assert "LLM $0.1234 (9 calls, 2 replayed)" in text
    assert "ETA 0:30" in text or "ETA 0:29" in text  # 2 tasks worked in 60 s, 1 left
    assert "2.10x" in text and "level1/19_ReLU" in text

    lines = summary_lines(state)
    assert lines[0].startswith("batch run 7: 3 tasks, 1 run now, 1 already done, 1 failed.")
    assert "2 tasks with a correct kernel, 2 faster than eager" in lines[1]
    assert lines[-1] == "failed: level1/13_SiLU: LLMError: endpoint refused the key"


def test_view_says_when_llm_calls_queue_for_their_endpoint() -> None:
    from kernelwright.agents.call_limit import EndpointLimits

    limits = EndpointLimits(1)
    state = BatchState(batch_run_id=7, total=4, llm_limits=limits)
    endpoint = limits.for_url("http://127.0.0.1:8080/v1")
    endpoint.in_flight, endpoint.waiting = 1, 3  # what four tasks' calls to a one-at-a-time server look like
    pool = LocalPool([batch_evaluator()])
    try:
        console = Console(record=True, width=200)
        console.print(BatchView({"state": state}, 4, pool))
        endpoint.in_flight, endpoint.waiting = 1, 0
        console.print(BatchView({"state": state}, 4, pool))
    finally:
        pool.close()
    text = console.export_text()
    assert text.count("LLM calls: 1 in flight, 3 queued (limit 1 per endpoint, --llm-concurrency)") == 1
