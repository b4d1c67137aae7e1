"""The optimization loop for one task: R rounds of K candidates, Judge then Coder, each candidate
evaluated (one at a time per GPU), profiled when correct, and stored the moment it finishes.

Control flow is by StopRun and its subclasses (budget, solved, stalled, compiled); everything the
loop decides is rebuilt from stored attempts, so `resume` is simply running it again on a run id.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from kernelwright.agents.budget import Budget, MeteredClient, StopRun
from kernelwright.agents.client import LLMError
from kernelwright.agents.coder import Coder, CoderReply
from kernelwright.agents.judge import Judge
from kernelwright.agents.loop_config import EventHook, LoopConfig, LoopEvent, LoopResult
from kernelwright.agents.loop_state import RETIMED_MODE, LoopState, Recorded, malformed_verdict
from kernelwright.agents.parsing import candidate_from_code
from kernelwright.agents.round_plan import PromptContext, SlotPlan, plan_round
from kernelwright.agents.tuning import judge_tuned
from kernelwright.contracts import Attempt, Profile, Status, Task, Verdict
from kernelwright.gpu.target import Target
from kernelwright.interfaces import ChatClient, Evaluator, ProfilerFn, RunLog

__all__ = ["EventHook", "LoopConfig", "LoopEvent", "LoopResult", "optimize_task"]


async def optimize_task(
    task: Task,
    *,
    coder: ChatClient,
    judge: ChatClient,
    evaluate: Evaluator,
    profile: ProfilerFn | None,
    store: RunLog,
    run_id: int,
    config: LoopConfig,
    target: Target,
    gpu_lock: asyncio.Semaphore | None = None,
    on_event: EventHook | None = None,
    context: PromptContext | None = None,
) -> LoopResult:
    """Runs (or resumes: stored rounds are not redone, and what the run spent before counts against
    its budgets) the loop; never raises for a bad reply. `context`: the rules, formats and examples
    every Coder prompt states (agents/prompt_context.py builds it; None states the target only)."""
    spent_usd, spent_tokens = store.spent(run_id)
    budget = Budget(
        max_usd=config.max_usd,
        max_tokens=config.max_tokens,
        max_minutes=config.max_minutes,
        spent_usd=spent_usd,
        spent_tokens=spent_tokens,
        output_cap=config.max_output_tokens,
    )
    context = context or PromptContext(gpu_facts=target.facts, rules="", candidate_format="")
    run = _Run(
        task,
        config,
        target,
        store,
        run_id,
        evaluate,
        profile,
        gpu_lock or asyncio.Semaphore(1),
        on_event or (lambda e: None),
        Coder(MeteredClient(coder, budget)),
        budget,
    )
    state = LoopState.load(store, run_id, task.key, config.candidates)
    judge_agent = Judge(MeteredClient(judge, budget))
    status, message = "done", f"Finished {rounds_text(config.rounds)}."
    try:
        for rnd in range(config.rounds):
            missing = state.missing_slots(rnd)
            if missing:
                _check_stop(state, config, target)
                plan = await plan_round(rnd, task, state, judge_agent, context, config.prompt_tokens)
                run.emit(LoopEvent("round", rnd, text=plan.mode))
                outcomes = await asyncio.gather(
                    *(run.slot(state, rnd, k, plan.slot(k)) for k in missing), return_exceptions=True
                )
                _raise_first(outcomes, len(missing))
            # also after a resume that stopped between a round's last candidate and its re-timing
            await run.retime(state, rnd)
            if (best := state.best()) is not None:
                slot = best.attempt.candidate_index % config.candidates  # a format retry is its slot's
                run.emit(LoopEvent("best", rnd, slot, attempt=best.attempt))
        _check_stop(state, config, target)
        if target.compile_only:
            status, message = (
                "done",
                f"No candidate compiled cleanly and passed the guard in {rounds_text(config.rounds)}.",
            )
    except StopRun as stop:
        status, message = stop.status, str(stop)
    except LLMError as err:
        status, message = "failed", str(err)
    best = state.best()
    return LoopResult(
        run_id=run_id,
        task_key=task.key,
        status=status,
        message=message,
        best=best.attempt if best else None,
        best_attempt_id=best.id if best else None,
        attempts=len(state.recorded),
        cost_usd=budget.spent_usd,
        tokens=budget.spent_tokens,
    )


def rounds_text(n: int) -> str:
    return f"{n} round" if n == 1 else f"{n} rounds"


def _check_stop(state: LoopState, config: LoopConfig, target: Target) -> None:
    best = state.best()
    if best is None:
        return
    if target.compile_only:
        raise StopRun("A candidate compiled cleanly and passed the guard.", "compiled")
    roof = best.attempt.profile.roofline if best.attempt.profile else None
    if roof is not None and roof.sol_pct >= config.sol_target_pct:
        raise StopRun(f"The best kernel reaches {roof.sol_pct:.0f}% of speed of light.", "solved")
    if state.stalled_rounds(config.noise_margin_pct / 100) >= config.patience:
        raise StopRun(f"No faster kernel in the last {rounds_text(config.patience)}.", "stalled")


def _raise_first(outcomes: list[BaseException | None], slots: int) -> None:
    """After every slot of the round has finished (and stored what it had): a stop or a fatal
    endpoint error ends the run; transient endpoint errors end it only when no slot got through."""
    errors = [o for o in outcomes if isinstance(o, BaseException)]
    for err in errors:
        if isinstance(err, StopRun) or (isinstance(err, LLMError) and not err.transient):
            raise err
    transient = [e for e in errors if isinstance(e, LLMError)]
    if transient and len(transient) == slots:
        raise transient[0]
    for err in errors:
        if not isinstance(err, LLMError):
            raise err


@dataclass
class _Run:
    task: Task
    config: LoopConfig
    target: Target
    store: RunLog
    run_id: int
    evaluate: Evaluator
    profile: ProfilerFn | None
    gpu_lock: asyncio.Semaphore
    hook: EventHook
    coder: Coder
    budget: Budget

    def emit(self, event: LoopEvent) -> None:
        event.spent_usd = self.budget.spent_usd
        self.hook(event)

    async def slot(self, state: LoopState, rnd: int, k: int, plan: SlotPlan) -> None:
        """One candidate: write it (once more with a reminder if malformed), evaluate, store."""
        self.emit(LoopEvent("candidate", rnd, k, "writing"))
        reply = await self.coder.ask(plan.prompt)
        # The format-reminder retry is stored under its own index (k + K) but is the same candidate
        # slot to whoever watches: events keep saying `slot`.
        slot = k
        if reply.code is None:
            self._record(state, rnd, k, plan, reply.text, malformed_verdict(reply.reason or ""), None, slot)
            k += self.config.candidates
            self.emit(LoopEvent("candidate", rnd, slot, "retrying: " + (reply.reason or "")))
            reply = await self.coder.retry(reply)
            if reply.code is None:
                self._record(
                    state, rnd, k, plan, reply.text, malformed_verdict(reply.reason or ""), None, slot
                )
                return
        self.emit(LoopEvent("candidate", rnd, slot, "evaluating"))
        code, verdict, prof = await self._judge_code(reply)
        self._record(state, rnd, k, plan, code, verdict, prof, slot)

    async def _judge_code(self, reply: CoderReply) -> tuple[str, Verdict, Profile | None]:
        """The code kept (a tuned candidate's best variant: exactly what was measured), its verdict
        and profile."""
        candidate = candidate_from_code(reply.code or "", origin="coder")
        async with self.gpu_lock:
            tuned = await asyncio.to_thread(
                judge_tuned, self.task, candidate, self.evaluate, compile_only=self.target.compile_only
            )
            candidate, verdict = tuned.candidate, tuned.verdict
            if verdict.status != Status.ok or self.profile is None:
                return candidate.source, verdict, None
            try:
                prof = await asyncio.to_thread(self.profile, self.task, candidate, verdict)
            except Exception as err:  # a profiler failure must not lose a measured attempt
                prof = Profile(unavailable=[f"profiler failed: {type(err).__name__}: {err}"])
        return candidate.source, verdict, prof

    async def retime(self, state: LoopState, rnd: int) -> None:
        """Before a round's fastest candidate replaces the best, both are judged again back to back
        (stored as 'reeval' attempts): one lucky timing must not move the search to a slower kernel."""
        pair = state.pending_retime(rnd)
        if pair is None or self.target.compile_only:
            return
        self.emit(LoopEvent("retiming", rnd, text="re-timing the new best against the old"))
        for index, row in zip((-1, -2), pair, strict=True):
            candidate = candidate_from_code(row.attempt.code, origin="coder")
            async with self.gpu_lock:
                verdict = await asyncio.to_thread(self.evaluate, self.task, candidate)
            again = Attempt(
                run_id=self.run_id,
                task_key=self.task.key,
                round=rnd,
                candidate_index=index,
                mode=RETIMED_MODE,
                parent_attempt_id=row.id,
                code=row.attempt.code,
                verdict=verdict,
                gpu_name=verdict.gpu_name or self.target.gpu_name,
                idea=f"re-timing of attempt {row.id}",
            )
            state.add(Recorded(self.store.add_attempt(again), again))

    def _record(
        self,
        state: LoopState,
        rnd: int,
        k: int,
        plan: SlotPlan,
        code: str,
        verdict: Verdict,
        prof: Profile | None,
        slot: int,
    ) -> None:
        attempt = Attempt(
            run_id=self.run_id,
            task_key=self.task.key,
            round=rnd,
            candidate_index=k,
            mode=plan.mode,
            parent_attempt_id=plan.parent_id,
            code=code,
            verdict=verdict,
            profile=prof,
            gpu_name=verdict.gpu_name or self.target.gpu_name,
            idea=plan.idea or None,
            analysis=plan.advice or None,
        )
        attempt_id = self.store.add_attempt(attempt)
        if prof is not None and prof.metrics:
            self.store.add_metrics(attempt_id, prof.metrics)
        state.add(Recorded(attempt_id, attempt))
        self.emit(LoopEvent("attempt", rnd, slot, verdict.status.value, attempt))
