"""The judge's side of one evaluation: the trusted process that writes the Verdict.

Order: the runner's hello (its walls, before any candidate code), the reference timed here while the
runner holds no candidate code, the harness overhead calibrated on null calls, then the candidate
loaded, verified trial by trial on inputs made here, and timed call by call. The judge draws after
each timed call whether to check it, so no call is safe to skip work on; it compares outputs itself
and cross-checks the runner's call times against the wall time it observed.
"""

from __future__ import annotations

import contextlib
import math
import random
import secrets
import time
import traceback
from collections.abc import Iterator
from typing import Any

import torch

from kernelwright.contracts import Status, TimingCheck, TimingStats, TrialResult, Verdict, speedup
from kernelwright.sandbox.config import WorkerJob, WorkerLimits
from kernelwright.sandbox.failures import CheckFailed
from kernelwright.sandbox.inputs import fresh_seed
from kernelwright.sandbox.judge.compare import compare, tolerance_for
from kernelwright.sandbox.judge.launch_rule import KernelEvent, judge_launches
from kernelwright.sandbox.judge.link import Limit, RunnerLink, violation
from kernelwright.sandbox.judge.reference import Reference
from kernelwright.sandbox.judge.replies import call_ms, read_outputs
from kernelwright.sandbox.judge.timing_check import cross_check, overhead_of, require_consistent, timing_stats
from kernelwright.sandbox.precision import PRECISION
from kernelwright.sandbox.tensors import clone_values, digest, same_values, tensor_bytes
from kernelwright.sandbox.timer import Timer
from kernelwright.sandbox.wire import read_values, remove_files, write_values
from kernelwright.stop_rule import calls_until_enough

GARBAGE_FIRST = float("nan")
# A second, different garbage value: an output that depends on uninitialised memory changes.
GARBAGE_SECOND = -1.2345e30
CALIBRATION_CALLS = 20
# Between timed loops (WorkerJob.timing_loops), so that a short loop does not fall into the same
# burst of load again.
RETIME_PAUSE_S = 0.2
RETIME_PAUSE_MAX_S = 1.0


class Judge:
    def __init__(self, job: WorkerJob, limits: WorkerLimits, workdir: str, exchange: str, link: RunnerLink):
        self.job = job
        self.limits = limits
        self.device = torch.device(job.device)
        self.exchange = exchange
        self.link = link
        self.ref = Reference(job, workdir, self.device)
        self.timer = Timer(self.device)
        self.trials: list[TrialResult] = []
        self.elapsed: dict[str, float] = {}
        self.isolation: list[str] = []
        self.notes: list[str] = []
        # The last timed loop's cross-check, kept for a verdict that refuses the runner's times.
        self.timing_check: TimingCheck | None = None
        self.run_deadline = math.inf
        self.rng = random.SystemRandom()

    # ------------------------------------------------------------ plumbing

    def _prefix(self, kind: str) -> str:
        """A fresh file-name prefix: unpredictable, so the runner cannot plant a link under it."""
        return f"{kind}-{secrets.token_hex(8)}"

    def _limit(self) -> Limit:
        """A single operation's limit, or what is left of the run limit when that ends sooner."""
        left = self.run_deadline - time.monotonic()
        if left < self.job.call_timeout_s:
            return Limit(self.run_deadline, self.limits.run_timeout_s, "run", "run time limit")
        return Limit.after(self.job.call_timeout_s, "run", "time limit of one call")

    def _run(self, op: dict[str, Any], what: str) -> dict[str, Any]:
        return self.link.request(op, self._limit(), what)

    def _outputs(self, items: Any, expected: list[torch.Tensor], what: str) -> list[torch.Tensor]:
        return read_outputs(items, expected, what, self.exchange, self.device)

    # ------------------------------------------------------------ the evaluation

    def evaluate(self) -> dict[str, Any]:
        """The Verdict (as JSON) plus what the parent needs for its roofline rule."""
        extra: dict[str, Any] = {"io_bytes": None, "gpu_name": None}
        verdict = Verdict(status=Status.ok)
        try:
            verdict = self._evaluate(extra)
        except CheckFailed as failed:
            verdict = Verdict(status=failed.status, rule=failed.rule, message=failed.message, log=failed.log)
        except Exception as err:  # noqa: BLE001 -- a harness failure is a verdict too, never a lost evaluation
            verdict = Verdict(
                status=Status.crashed,
                rule="judge-failed",
                message=f"the sandbox's judge failed: {type(err).__name__}: {str(err)[:300]}",
                log=traceback.format_exc()[-3000:],
            )
        verdict.trials = self.trials
        verdict.timing_check = verdict.timing_check or self.timing_check
        verdict.device = self.job.device
        verdict.isolation = self.isolation
        verdict.precision = PRECISION
        if self.device.type == "cuda":
            extra["gpu_name"] = verdict.gpu_name = torch.cuda.get_device_name(0)
        verdict.elapsed_s.update(self.elapsed)
        return {"verdict": verdict.model_dump(mode="json"), **extra}

    def _evaluate(self, extra: dict[str, Any]) -> Verdict:
        job = self.job
        started = time.perf_counter()
        walls = self.link.hello(Limit.after(self.limits.compile_timeout_s, "load", "compile/load time limit"))
        self.isolation = [str(w) for w in walls.get("active", []) if isinstance(w, str)]
        self.elapsed["runner_ready"] = time.perf_counter() - started
        eager = self._time_reference() if job.timing else None
        self.elapsed["reference"] = time.perf_counter() - started - self.elapsed["runner_ready"]
        calibrate_started = time.perf_counter()
        overhead = self._calibrate() if job.timing else (0.0, 0.0)
        self.elapsed["calibrate"] = time.perf_counter() - calibrate_started
        seed = fresh_seed()
        self.ref.build(seed)
        load_started = time.perf_counter()
        if job.seal_before_load:
            self._seal()
        self.link.request(
            {"op": "load", "seed": seed},
            Limit.after(self.limits.compile_timeout_s, "load", "compile/load time limit"),
            "loading (importing the candidate and constructing ModelNew)",
        )
        if not job.seal_before_load:
            self._seal()
        self.elapsed["load"] = time.perf_counter() - load_started
        # The first forward call and everything after it count against the run limit.
        self.run_deadline = time.monotonic() + self.limits.run_timeout_s
        verify_started = time.perf_counter()
        for index in range(job.trials):
            self.trial(index, fresh_seed())
        if job.shape_trial:
            self.shape_trial(job.trials)
        self.elapsed["verify"] = time.perf_counter() - verify_started
        shape = " including one with the task's sizes changed" if job.shape_trial and not self.notes else ""
        verdict = Verdict(status=Status.ok, message=f"correct on all {len(self.trials)} trials{shape}")
        if job.launch_check and self.device.type == "cuda":
            self._launch_check()
        if job.timing and eager is not None:
            time_started = time.perf_counter()
            self._time_candidate(verdict, eager, overhead, extra)
            self.elapsed["time"] = time.perf_counter() - time_started
        self._run({"op": "finish"}, "the final check")
        if self.notes:
            verdict.message += "; " + "; ".join(self.notes)
        self.elapsed["judge"] = time.perf_counter() - started
        return verdict

    # ------------------------------------------------------------ before the candidate exists

    def _seal(self) -> None:
        limit = Limit.after(self.limits.compile_timeout_s, "load", "compile/load time limit")
        sealed = self.link.request({"op": "seal"}, limit, "sealing the walls").get("sealed")
        self.isolation += [str(w) for w in sealed or [] if isinstance(w, str) and w not in self.isolation]

    def _time_reference(self) -> TimingStats:
        """The eager reference, timed while the runner holds no candidate code (or the parent's
        measurement of the same task on the same device, made the same way)."""
        if self.job.eager_timing is not None:
            return self.job.eager_timing
        self.ref.build(fresh_seed())
        return timing_stats(self.ref.time(self.timer))

    def _calibrate(self) -> tuple[float, float]:
        """The harness's own overhead per call: null calls answered by a runner with no candidate code."""
        walls, reported = [], []
        for _ in range(CALIBRATION_CALLS):
            self._run({"op": "prepare", "seed": fresh_seed()}, "calibration")
            payload, wall = self.link.timed({"op": "call", "null": True}, self._limit(), "calibration")
            walls.append(wall)
            reported.append(call_ms(payload, "calibration"))
        return overhead_of(walls, reported)

    # ------------------------------------------------------------ correctness

    def trial(self, index: int, seed: int) -> None:
        """Candidate on the judge's inputs over NaN garbage, then the reference, then the candidate
        again on the same inputs over other garbage; every comparison made here."""
        what = f"trial {index}"
        inputs = self.ref.inputs(seed)
        pristine = clone_values(inputs)
        with self._candidate_on(inputs, GARBAGE_FIRST, what) as (items, after):
            mutated = next(
                (
                    i
                    for i, (a, p) in enumerate(zip(after, pristine, strict=True))
                    if isinstance(p, torch.Tensor) and not same_values(a, p)
                ),
                None,
            )
            if mutated is not None:
                raise CheckFailed(Status.rejected, "input-mutated", f"the candidate modified input {mutated}")
            expected = self.ref(clone_values(pristine))
            result = TrialResult(trial=index, seed=seed, passed=True, numel=0)
            self.trials.append(result)
            try:
                outs = self._outputs(items, expected, what)
            except CheckFailed:
                result.passed = False
                raise
            self._compare(outs, expected, result, what, "mismatch")
        with self._candidate_on(pristine, GARBAGE_SECOND, f"{what} (second run)") as (items, _):
            try:
                again = self._outputs(items, outs, f"{what} (second run)")
            except CheckFailed:
                again = []
            if not again or any(
                not compare(a, o, *tolerance_for(o.dtype, self.job.atol, self.job.rtol)).passed
                for a, o in zip(again, outs, strict=True)
            ):
                result.passed = False
                raise CheckFailed(
                    Status.incorrect,
                    "nondeterministic",
                    f"{what}: two runs on the same inputs disagree (uninitialised or out-of-bounds reads)",
                )

    @contextlib.contextmanager
    def _candidate_on(self, inputs: list[Any], garbage: float, what: str) -> Iterator[tuple[Any, list[Any]]]:
        """The candidate's reply on `inputs` (output descriptions) and the inputs as it left them;
        the exchanged files are removed afterwards."""
        items = write_values(inputs, self.exchange, self._prefix("in"))
        outputs: Any = None
        try:
            reply = self._run(
                {"op": "trial", "inputs": items, "garbage": garbage, "prefix": self._prefix("out")}, what
            )
            outputs = reply.get("outputs")
            yield outputs, read_values(items, self.exchange, self.device)
        finally:
            remove_files(self.exchange, outputs)
            remove_files(self.exchange, items)

    def _compare(
        self,
        outs: list[torch.Tensor],
        expected: list[torch.Tensor],
        result: TrialResult,
        what: str,
        rule: str,
    ) -> None:
        if len(outs) != len(expected):
            result.passed = False
            raise CheckFailed(
                Status.incorrect, "output-count", f"{len(outs)} outputs instead of {len(expected)}"
            )
        for out, ref in zip(outs, expected, strict=True):
            cmp = compare(out, ref, *tolerance_for(ref.dtype, self.job.atol, self.job.rtol))
            result.numel += cmp.numel
            result.mismatched += cmp.mismatched
            result.max_abs_error = max(result.max_abs_error or 0.0, cmp.max_abs_error or 0.0)
            result.max_rel_error = max(result.max_rel_error or 0.0, cmp.max_rel_error or 0.0)
            if not cmp.passed:
                result.passed = False
                shape_rule = rule if cmp.max_abs_error is not None else "shape-mismatch"
                raise CheckFailed(Status.incorrect, shape_rule, f"{what}: {cmp.reason}")

    def shape_trial(self, index: int) -> None:
        """One trial with the task's size constants changed, on both sides."""
        from kernelwright.kernelbench.sizes import apply_sizes, scaled_sizes, size_constants, variant_numel

        module = self.ref.module
        original = size_constants(module)
        numel = variant_numel(module, original) or 0
        sizes = scaled_sizes(module, max(1, min(self.job.shape_trial_max_numel, numel // 2)))
        if sizes == original:
            self.notes.append("no shape-generalisation trial: the task has no scalable size constant")
            return
        changed = ", ".join(f"{k}={v}" for k, v in sizes.items() if original[k] != v)
        saved = self.ref.model
        seed = fresh_seed()
        apply_sizes(module, sizes)
        try:
            init_args = list(module.get_init_inputs())
            if repr(init_args) != repr(self.ref.init_args):
                self.ref.build(seed, init_args)
            self._run({"op": "resize", "sizes": sizes, "seed": seed}, "the shape-generalisation trial")
            self.trial(index, fresh_seed())
        except CheckFailed as failed:
            if failed.status == Status.runtime_error:
                raise CheckFailed(
                    Status.incorrect,
                    "shape-generalisation",
                    f"with sizes changed ({changed}) {failed.message}",
                    failed.log,
                ) from None
            if failed.status == Status.incorrect:
                raise CheckFailed(
                    Status.incorrect,
                    "shape-generalisation",
                    f"wrong when the task's sizes change ({changed}): {failed.message}",
                ) from None
            raise
        finally:
            apply_sizes(module, original)
            self.ref.model = saved
        self._run({"op": "resize", "sizes": None}, "restoring the task's sizes")

    def _launch_check(self) -> None:
        events = self._run({"op": "launch", "seed": fresh_seed()}, "the launch check").get("events")
        if not isinstance(events, list) or not all(
            isinstance(e, list) and len(e) == 2 and isinstance(e[0], str) and isinstance(e[1], int | float)
            for e in events
        ):
            raise violation("the launch check", "kernel events that are not (name, microseconds) pairs")
        note = judge_launches(
            [KernelEvent(name, float(us)) for name, us in events],
            self.job.own_kernel_names,
            self.job.launch_min_own_fraction,
        )
        if note:
            self.notes.append(note)

    # ------------------------------------------------------------ timing

    def _time_candidate(
        self, verdict: Verdict, eager: TimingStats, overhead: tuple[float, float], extra: dict[str, Any]
    ) -> None:
        job = self.job
        for k in range(job.warmup_calls):
            self._run({"op": "prepare", "seed": fresh_seed()}, f"warm-up call {k}")
            self._run({"op": "call"}, f"warm-up call {k}")
        loops = max(1, job.timing_loops)
        for loop in range(1, loops + 1):
            loop_started = time.monotonic()
            reported, check = self._timed_loop(overhead)
            verdict.timing_check = self.timing_check = check
            if check.consistent or loop == loops:
                break
            self.notes.append(
                f"timed again after loop {loop}: the runner reported {check.reported_median_ms:.4f} ms per "
                f"call, the judge observed at least {check.observed_low_ms:.4f} ms"
            )
            # Drawn, so that loops do not keep step with a periodic load.
            pause = min(RETIME_PAUSE_MAX_S, max(RETIME_PAUSE_S, time.monotonic() - loop_started))
            time.sleep(pause * self.rng.uniform(1.0, 2.0))
        require_consistent(check, loop)
        self._fill_timings(verdict, eager, extra)
        verdict.candidate_timing = timing_stats(reported)
        verdict.speedup_vs_eager = speedup(eager, verdict.candidate_timing)

    def _timed_loop(self, overhead: tuple[float, float]) -> tuple[list[float], TimingCheck]:
        """One timed loop: fresh inputs per call, spot checks drawn after each call, and the judge's
        cross-check of the runner's times against its own clock."""
        job = self.job
        probability = min(1.0, job.timing_spot_checks / max(1, job.timing_min_calls))
        reported: list[float] = []
        walls: list[float] = []
        checked = 0
        seed = 0
        for call in calls_until_enough(
            min_calls=job.timing_min_calls,
            min_seconds=job.timing_min_seconds,
            max_seconds=job.timing_max_seconds,
        ):
            seed = fresh_seed()
            self._run({"op": "prepare", "seed": seed}, f"preparing timed call {call}")
            payload, wall = self.link.timed({"op": "call"}, self._limit(), f"timed call {call}")
            reported.append(call_ms(payload, f"timed call {call}"))
            walls.append(wall)
            # Drawn after the call ran: the candidate cannot know which calls are compared.
            if self.rng.random() < probability:
                self._spot_check(call, seed)
                checked += 1
        if not checked:
            self._spot_check(len(reported) - 1, seed)
            checked = 1
        return reported, cross_check(reported, walls, overhead, checked)

    def _spot_check(self, call: int, seed: int) -> None:
        what = f"timed call {call}"
        reply = self._run({"op": "fetch", "prefix": self._prefix("spot")}, f"fetching {what}")
        try:
            inputs = self.ref.inputs(seed)
            if reply.get("inputs_digest") != digest(inputs):
                raise CheckFailed(
                    Status.rejected,
                    "inputs-tampered",
                    f"{what} ran on inputs other than the ones its seed makes: the candidate changed them "
                    "or replaced the harness's input generation",
                )
            expected = self.ref(inputs)
            result = TrialResult(trial=-1, seed=seed, passed=True, numel=0)
            outs = self._outputs(reply.get("outputs"), expected, f"{what} returned a wrong result")
            self._compare(outs, expected, result, f"{what} returned a wrong result", "timing-spot-check")
        finally:
            remove_files(self.exchange, reply.get("outputs"))

    def _fill_timings(self, verdict: Verdict, eager: TimingStats, extra: dict[str, Any]) -> None:
        verdict.eager_timing = eager
        if self.ref.model is None:
            self.ref.build(fresh_seed())
        inputs = self.ref.inputs(fresh_seed())
        extra["io_bytes"] = tensor_bytes(inputs) + tensor_bytes(self.ref(inputs))
        if self.job.torch_compile_baseline:
            verdict.compiled_timing = timing_stats(self.ref.time_compiled(self.timer))
