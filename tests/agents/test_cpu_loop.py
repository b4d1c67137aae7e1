"""The whole loop on the CPU (`--device cpu --allow-torch`): the real sandbox's CPU protocol verifies
and times every candidate, the real OpenAI client talks to the scripted server, the store is real
SQLite. Each search behaviour of issue 10 is checked here end to end, on requests and stored rows:
the rules in the prompts, ranked plans per slot, the beam, repair after a correct kernel exists,
memory of ideas across --resume, the Judge not reading one kernel twice, re-timing before a new best,
tuning, and examples from other tasks of the same operator class."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from kernelwright.agents.config import LLMConfig
from kernelwright.agents.loop_config import LoopConfig
from kernelwright.agents.session import OptimizeSettings, RunSummary, run_optimize
from kernelwright.agents.wiring import evaluator_for
from kernelwright.contracts import Task
from kernelwright.gpu.target import cpu_target
from kernelwright.kernelbench import find_task, load_task
from kernelwright.kernelbench.cpu_variant import cpu_variant
from tests.support.openai_server import ScriptedServer

CODER, JUDGE = "coder-m", "judge-m"
TARGET = cpu_target(allow_torch=True)


def fenced(code: str) -> str:
    return f"```python\n{code}```\n"


# Honest PyTorch candidates for relu on device='cpu': one op, and one op per row (tens of times slower).
FAST = fenced("""import torch


class ModelNew(torch.nn.Module):
    def forward(self, x):
        return torch.relu(x)
""")
SLOW = fenced("""import torch


class ModelNew(torch.nn.Module):
    def forward(self, x):
        return torch.stack([torch.relu(row) for row in x])
""")
WRONG = fenced("""import torch


class ModelNew(torch.nn.Module):
    def forward(self, x):
        return torch.relu(x) + 1e-3
""")
# Two configurations from one reply: rows one at a time, or all at once.
TUNED = fenced("""import torch

TUNE = {"ROWS": (1, 4096)}


class ModelNew(torch.nn.Module):
    def forward(self, x):
        return torch.cat([torch.relu(part) for part in x.split(TUNE["ROWS"])])
""")
SILU = fenced("""import torch
import torch.nn.functional as F


class ModelNew(torch.nn.Module):
    def forward(self, x):
        return F.silu(x)
""")


def plans(*methods: str, runner_up: int | None = None) -> str:
    listed = [
        {"bottleneck": "passes over memory", "method": m, "plan": f"PLAN-{m}: one pass",
         "parent": "runner_up" if i == runner_up else "best"}
        for i, m in enumerate(methods)
    ]  # fmt: skip
    return "```json\n" + json.dumps({"plans": listed}) + "\n```"


def diagnosis_and_plans(issue: str, *methods: str) -> str:
    """One reply the Judge's correction and optimization prompts both accept: their calls of a round
    run concurrently, so which one the server answers first is not fixed."""
    reply = json.loads(plans(*methods).split("\n", 1)[1].rsplit("\n", 1)[0])
    reply.update(critical_issue=issue, why_it_matters="wrong values", minimal_fix_hint="drop the + 1e-3")
    return "```json\n" + json.dumps(reply) + "\n```"


@pytest.fixture(scope="module")
def relu_cpu() -> Task:
    return cpu_variant(find_task("level1/19_ReLU"))


def settings(
    server: ScriptedServer, tmp_path: Path, resume: int | None = None, **loop: object
) -> OptimizeSettings:
    # from_env with no environment: each role's default temperature applies, as for a user
    llm = LLMConfig.from_env({}, base_url=server.base_url, api_key="k", coder_model=CODER, judge_model=JUDGE,
                             max_retries=0)  # fmt: skip
    return OptimizeSettings(
        llm=llm, loop=LoopConfig(**loop), out_dir=str(tmp_path / "out"), resume_run_id=resume
    )


def optimize(task: Task, store, server: ScriptedServer, tmp_path: Path, **kw: object) -> RunSummary:
    evaluate = evaluator_for(TARGET, store=store)
    try:
        return asyncio.run(
            run_optimize(task, settings(server, tmp_path, **kw), TARGET, store, evaluate, None)
        )
    finally:
        evaluate.close()


def user_prompts(server: ScriptedServer, model: str) -> list[str]:
    return [r.last_user for r in server.requests_for(model)]


@pytest.mark.slow
def test_the_search_on_the_cpu_plans_repairs_remembers_and_retimes(server, store, relu_cpu, tmp_path) -> None:
    # round 0 seeds; round 1 follows two ranked plans (one tuned reply wins); round 2 brings nothing
    # better and one wrong kernel, so round 3 repairs it in one slot while the other follows a plan.
    server.script(CODER, [SLOW, WRONG, WRONG, TUNED, WRONG, SLOW], then=FAST)
    server.script(JUDGE, [plans("MARK-A", "MARK-B"), plans("MARK-C", "MARK-D", runner_up=1)],
                  then=diagnosis_and_plans("ISSUE-MARK: adds 1e-3", "MARK-E"))  # fmt: skip
    first = optimize(relu_cpu, store, server, tmp_path, rounds=2, candidates=2, patience=5)
    assert first.result.status == "done"
    run_id = first.result.run_id
    # --resume: the run goes on from the store alone
    second = optimize(relu_cpu, store, server, tmp_path, resume=run_id, rounds=4, candidates=2, patience=5)
    result = second.result

    stored = store.attempts(run_id)
    slots = sorted((a for a in stored if a.mode != "reeval"), key=lambda a: (a.round, a.candidate_index))
    assert [(a.round, a.mode) for a in slots] == [
        (0, "seed"), (0, "seed"), (1, "optimize"), (1, "optimize"),
        (2, "optimize"), (2, "optimize"), (3, "optimize"), (3, "repair"),
    ]  # fmt: skip
    # ranked plans: slot k of a round followed plan k, and the attempt keeps the idea and the advice
    assert {a.idea for a in slots if a.round == 1} == {"MARK-A", "MARK-B"}
    assert all(a.idea and a.idea in (a.analysis or "") for a in slots if a.mode == "optimize")
    round1 = sorted(user_prompts(server, CODER)[2:4])
    assert "PLAN-MARK-A" in round1[0] and "PLAN-MARK-B" in round1[1]

    # tuning: the stored kernel is the configuration that was measured fastest, with both outcomes
    tuned = next(a for a in slots if a.round == 1 and a.verdict.tuning)
    assert [t.values for t in tuned.verdict.tuning] == [{"ROWS": 1}, {"ROWS": 4096}]
    assert "TUNE = {'ROWS': 4096}" in tuned.code and tuned.verdict.status.value == "ok"

    # re-timing: the tuned kernel replaced the slow seed only after both were judged again
    ids = {(s.attempt.round, s.attempt.candidate_index): s.id for s in store.attempts_for_task(relu_cpu.key)}
    seed_ok = next(a for a in slots if a.round == 0 and a.verdict.status.value == "ok")
    retimed = [(a.round, a.candidate_index, a.parent_attempt_id) for a in stored if a.mode == "reeval"]
    assert retimed[:2] == [
        (1, -1, ids[(1, tuned.candidate_index)]),
        (1, -2, ids[(0, seed_ok.candidate_index)]),
    ]
    assert result.best is not None and result.best.round >= 1

    judge = user_prompts(server, JUDGE)
    # the Judge of round 2 reads the best kernel once: the latest candidate is that kernel
    assert "The latest candidate is the best kernel above." in judge[1]
    # the Judge is told what forward may use, from the same SandboxConfig as the Coder's rules
    assert "What forward may use (the sandbox enforces it): this run allows PyTorch ops" in judge[1]
    # the beam: round 2's second plan starts from the runner-up, whose code its prompt shows
    round2 = [p for p in user_prompts(server, CODER)[4:6] if "PLAN-MARK-D" in p]
    assert len(round2) == 1 and "Starting point: the runner-up kernel" in round2[0]
    # memory, across the resume: later prompts list what was tried as idea -> result
    assert '"MARK-A"' in judge[2] and '"MARK-B"' in judge[2] and "x vs eager" in judge[2]

    # repair after a correct kernel exists: the failure's log and the diagnosis, in its own format
    repair = next(p for p in user_prompts(server, CODER) if "failed. Fix it" in p)
    assert "ISSUE-MARK" in repair and "Status: incorrect" in repair and "+ 1e-3" in repair
    assert "CudaModule" not in repair  # a CPU candidate is repaired as what it is
    repaired = next(a for a in slots if a.mode == "repair")
    assert repaired.parent_attempt_id is not None and repaired.idea.startswith("fix: ISSUE-MARK")

    # the rules the sandbox applies, and the kind of code this target takes, were in the seed prompt
    seed = user_prompts(server, CODER)[0]
    assert "5 trials" in seed and "float32 atol 0.0001, rtol 0.0001" in seed and "10x faster" in seed
    assert "this run allows PyTorch ops" in seed and "device='cpu'" in seed and "TUNE" in seed
    # per-role temperatures: diverse candidates, a steady reviewer
    assert {r.body.get("temperature") for r in server.requests_for(CODER)} == {0.7}
    assert {r.body.get("temperature") for r in server.requests_for(JUDGE)} == {0.2}


COMPOSITE = """import torch
import torch.nn as nn

batch_size = 256
dim = 1024


class Model(nn.Module):
    def forward(self, x):
        return {expr}


def get_inputs():
    return [torch.randn(batch_size, dim)]


def get_init_inputs():
    return []
"""


@pytest.mark.slow
def test_a_task_starts_from_the_stored_winner_of_its_operator_class(server, store, tmp_path) -> None:
    # Two activation tasks whose references take three and two passes; one-pass kernels beat them.
    (tmp_path / "level1").mkdir()
    relu_file, silu_file = tmp_path / "level1" / "90_Relu3.py", tmp_path / "level1" / "91_Silu2.py"
    relu_file.write_text(COMPOSITE.format(expr="torch.relu(x) * 1.0 + 0.0"))
    silu_file.write_text(COMPOSITE.format(expr="x * torch.sigmoid(x)"))
    server.script(CODER, [FAST, SILU])
    relu = optimize(cpu_variant(load_task(relu_file)), store, server, tmp_path, rounds=1, candidates=1)
    assert relu.result.best is not None and (relu.result.best.verdict.speedup_vs_eager or 0) > 1.0

    silu = optimize(cpu_variant(load_task(silu_file)), store, server, tmp_path, rounds=1, candidates=1)
    assert silu.result.best is not None
    prompts = user_prompts(server, CODER)
    assert "Kernels that won on similar tasks" not in prompts[0]  # nothing was stored yet
    assert "Kernels that won on similar tasks" in prompts[1] and "level1/90_Relu3@cpu" in prompts[1]
    assert "return torch.relu(x)" in prompts[1]
    # the run keeps which examples it was shown, so a resumed run shows the same ones
    info = store.run(silu.result.run_id)
    assert info is not None and info.config["example_attempts"] == [relu.result.best_attempt_id]
