"""Best of N configurations from one LLM call: every variant of a candidate's TUNE declaration goes
through the evaluator, and the best one's code and verdict are kept, with every variant's outcome in
`verdict.tuning` (docs/tuning.md).

Compile-only, "best" is static: passing variants without spills first, then the highest theoretical
occupancy, then the fewest registers. On a running device it is measured: the fastest `ok` variant;
a `suspicious` one is never chosen, so a configuration cannot win by tripping the sandbox's limits.
"""

from __future__ import annotations

from dataclasses import dataclass

from kernelwright.contracts import (
    Candidate,
    GuardFinding,
    KernelResources,
    Status,
    Task,
    TuningTrial,
    Verdict,
)
from kernelwright.gpu.occupancy import occupancy
from kernelwright.interfaces import Evaluator
from kernelwright.sandbox.build.tuning import DEFAULT_LIMIT, TuneError, TuneValue, Variant, variants

BLOCK_NAMES = ("BLOCK", "BLOCK_SIZE", "THREADS", "THREADS_PER_BLOCK", "NUM_THREADS")
"""A TUNE name among these is taken as the block size when occupancy is computed."""
DEFAULT_THREADS = 256
"""The block size assumed for a kernel without __launch_bounds__ when TUNE names none."""


@dataclass(frozen=True)
class Tuned:
    """What judging a (possibly tuned) candidate kept: the chosen variant's code and its verdict."""

    candidate: Candidate
    verdict: Verdict
    values: dict[str, TuneValue]

    def summary(self) -> str:
        """One line for logs and feedback; empty when the candidate declared no TUNE."""
        trials = self.verdict.tuning
        if not trials:
            return ""
        passed = sum(t.status in (Status.ok, Status.suspicious) for t in trials)
        chosen = ", ".join(f"{k}={v!r}" for k, v in self.values.items())
        if not passed:
            return f"Tuned {len(trials)} configuration(s), none passed; kept the first ({chosen})."
        return f"Tuned {len(trials)} configuration(s), {passed} passed; kept {chosen}."


def judge_tuned(
    task: Task,
    candidate: Candidate,
    evaluate: Evaluator,
    *,
    compile_only: bool,
    max_variants: int = DEFAULT_LIMIT,
) -> Tuned:
    """Judges each variant of `candidate` (at most `max_variants`) with `evaluate` and keeps the
    best; a candidate without TUNE is judged once, as it is. A malformed TUNE is a compile_error
    verdict naming the problem, without evaluating anything."""
    try:
        options = variants(candidate.source, max_variants)
    except TuneError as err:
        finding = GuardFinding(rule="tune-spec", line=err.line, message=err.reason)
        verdict = Verdict(status=Status.compile_error, rule="tune-spec", message=str(err), findings=[finding])
        return Tuned(candidate=candidate, verdict=verdict, values={})
    if len(options) == 1 and not options[0].values:
        return Tuned(candidate=candidate, verdict=evaluate(task, candidate), values={})
    judged: list[tuple[Variant, Candidate, Verdict]] = []
    for variant in options:
        tried = candidate.model_copy(update={"source": variant.source})
        judged.append((variant, tried, evaluate(task, tried)))
    trials = [_trial(variant.values, verdict) for variant, _, verdict in judged]
    best = _best_static(trials) if compile_only else _fastest(trials)
    variant, chosen, verdict = judged[best]
    verdict = verdict.model_copy(deep=True)
    verdict.tuning = [t.model_copy(update={"chosen": i == best}) for i, t in enumerate(trials)]
    return Tuned(candidate=chosen, verdict=verdict, values=dict(variant.values))


def _trial(values: dict[str, TuneValue], verdict: Verdict) -> TuningTrial:
    kernels = verdict.resources
    timing = verdict.candidate_timing
    return TuningTrial(
        values=dict(values),
        status=verdict.status,
        median_ms=timing.median_ms if timing is not None else None,
        registers_per_thread=max((k.registers_per_thread for k in kernels), default=None),
        spill_bytes=sum(k.spill_stores_bytes + k.spill_loads_bytes for k in kernels) if kernels else None,
        occupancy_pct=_occupancy_pct(kernels, values),
        elapsed_s=verdict.elapsed_s.get("total", sum(verdict.elapsed_s.values()) or None),
        message=verdict.message,
    )


def _occupancy_pct(kernels: list[KernelResources], values: dict[str, TuneValue]) -> float | None:
    """The least-occupied kernel's theoretical occupancy. The block size is the kernel's
    __launch_bounds__, else the TUNE value named like a block size, else DEFAULT_THREADS."""
    if not kernels:
        return None
    tuned = next((v for k, v in values.items() if k.upper() in BLOCK_NAMES and type(v) is int), None)
    found: list[float] = []
    for kernel in kernels:
        threads = kernel.max_threads_per_block or tuned or DEFAULT_THREADS
        try:
            found.append(
                occupancy(
                    kernel.arch, threads, kernel.registers_per_thread, kernel.shared_bytes
                ).occupancy_pct
            )
        except ValueError:  # an architecture without known limits
            return None
    return min(found)


def _best_static(trials: list[TuningTrial]) -> int:
    """No spills first, then the highest occupancy, then the fewest registers; ties keep file order."""
    passing = [i for i, t in enumerate(trials) if t.status == Status.ok]
    if not passing:
        return 0

    def rank(i: int) -> tuple[bool, float, int, int]:
        t = trials[i]
        return (bool(t.spill_bytes), -(t.occupancy_pct or 0.0), t.registers_per_thread or 0, i)

    return min(passing, key=rank)


def _fastest(trials: list[TuningTrial]) -> int:
    """The fastest `ok` variant (the first `ok` one when timing was off); with none, the first
    (each name's first value: the Coder's default)."""
    passing = [i for i, t in enumerate(trials) if t.status == Status.ok]
    timed = [i for i in passing if trials[i].median_ms is not None]
    if timed:
        return min(timed, key=lambda i: (trials[i].median_ms or 0.0, i))
    return passing[0] if passing else 0
