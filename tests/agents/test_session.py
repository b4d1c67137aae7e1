"""run_optimize, the wiring the CLI and batch share: run row, per-role endpoints, status, best.py."""

from __future__ import annotations

import asyncio
from functools import partial
from pathlib import Path

import pytest

from kernelwright.agents.config import LLMConfig
from kernelwright.agents.loop import LoopConfig
from kernelwright.agents.session import OptimizeSettings, run_optimize
from kernelwright.errors import ConfigError
from kernelwright.gpu.target import Target, compile_only_target
from kernelwright.sandbox.guard.static_check import static_verdict
from tests.agents.test_cli import CLEAN, NOT_COMPILING
from tests.agents.test_loop import DIAGNOSIS
from tests.support.openai_server import running_server


def settings_for(coder_url: str, judge_url: str, tmp_path: Path, **loop) -> OptimizeSettings:
    llm = LLMConfig.from_env({}, coder_base_url=coder_url, judge_base_url=judge_url, coder_api_key="sk-coder-k1",
                             judge_api_key="sk-judge-k2", coder_model="gpt-4o-mini", judge_model="o3")  # fmt: skip
    return OptimizeSettings(llm=llm, loop=LoopConfig(**loop), out_dir=str(tmp_path / "out"))


COMPILE_ONLY = compile_only_target("sm_90")


def test_coder_and_judge_on_different_endpoints_and_models(store, relu_task, tmp_path: Path) -> None:
    evaluate = partial(static_verdict, arch="sm_90")
    with running_server() as coder_srv, running_server() as judge_srv:
        coder_srv.script("gpt-4o-mini", [NOT_COMPILING, CLEAN])
        judge_srv.script("o3", [DIAGNOSIS])
        settings = settings_for(coder_srv.base_url, judge_srv.base_url, tmp_path, candidates=1)
        summary = asyncio.run(run_optimize(relu_task, settings, COMPILE_ONLY, store, evaluate, None))
    r = summary.result
    assert r.status == "compiled" and r.attempts == 2
    assert {q.authorization for q in coder_srv.requests} == {"Bearer sk-coder-k1"}
    assert [q.authorization for q in judge_srv.requests] == ["Bearer sk-judge-k2"]
    info = store.run(r.run_id)
    assert info.status == "compiled" and (info.coder_model, info.judge_model) == ("gpt-4o-mini", "o3")
    assert (
        "sk-coder-k1" not in str(info.config)
        and info.config["llm"]["coder"]["base_url"] == coder_srv.base_url
    )
    calls = store.llm_calls(r.run_id)
    assert [c.role for c in calls] == ["coder", "judge", "coder"]
    assert sum(c.cost_usd for c in calls) == pytest.approx(r.cost_usd) and r.cost_usd > 0
    assert summary.best_path is not None and Path(summary.best_path).read_text() == r.best.code


def test_resume_refuses_an_unknown_run_or_another_task(store, relu_task, tmp_path: Path) -> None:
    from kernelwright.kernelbench import find_task

    settings = settings_for("http://127.0.0.1:9/v1", "http://127.0.0.1:9/v1", tmp_path)
    with pytest.raises(ConfigError, match="no run 99"):
        asyncio.run(
            run_optimize(
                relu_task,
                settings.model_copy(update={"resume_run_id": 99}),
                COMPILE_ONLY,
                store,
                static_verdict,
                None,
            )
        )
    run_id = store.create_run({"task": "level1/13_SiLU", "loop": {"compile_only": True}}, coder_model="a",
                              judge_model="b", gpu_name="none")  # fmt: skip
    with pytest.raises(ConfigError, match="optimized level1/13_SiLU, not level1/19_ReLU"):
        asyncio.run(
            run_optimize(
                relu_task,
                settings.model_copy(update={"resume_run_id": run_id}),
                COMPILE_ONLY,
                store,
                static_verdict,
                None,
            )
        )
    silu = find_task("level1/13_SiLU")
    with pytest.raises(ConfigError, match="compile-only"):
        on_gpu = Target(compile_only=False, arch="sm_90", gpu_name="H100", facts="H100.")
        resumed = settings.model_copy(update={"resume_run_id": run_id})
        asyncio.run(run_optimize(silu, resumed, on_gpu, store, static_verdict, None))


def test_missing_settings_raise_one_sentence_before_any_run_is_created(
    store, relu_task, tmp_path: Path
) -> None:
    settings = OptimizeSettings(llm=LLMConfig.from_env({}, model="m"), out_dir=str(tmp_path))
    with pytest.raises(ConfigError, match=r"missing: coder base URL, coder API key, judge base URL"):
        asyncio.run(run_optimize(relu_task, settings, COMPILE_ONLY, store, static_verdict, None))
    assert store.runs() == []
