"""The timing protocol, in the worker child: candidate and eager reference interleaved, each call
bracketed by a device-wide synchronise (side streams count), L2 flushed before each call, inputs
rotated among distinct allocations whose values change every call, timed outputs spot-checked.

The clock is bound here, at import time in the fork server, before any candidate code exists, so a
candidate that replaces time.perf_counter changes nothing here (and is rejected by the snapshot).
"""

from __future__ import annotations

import os
import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from time import perf_counter as _clock
from typing import TYPE_CHECKING, Any

import torch

from kernelwright.contracts import Status, TimingStats, Verdict
from kernelwright.sandbox.verify_checks import CheckFailed, compare, flatten_output, tolerance_for

if TYPE_CHECKING:
    from kernelwright.sandbox.verify import Session

_synchronize = torch.cuda.synchronize
# Used when the device does not report its L2 size.
FALLBACK_L2_BYTES = 64 << 20
ROTATION_SETS = 2


def timing_stats(samples_ms: list[float]) -> TimingStats:
    """Median, interquartile range, coefficient of variation and count of per-call times."""
    median = statistics.median(samples_ms)
    if len(samples_ms) >= 2:
        q1, _, q3 = statistics.quantiles(samples_ms, n=4, method="inclusive")
        mean = statistics.fmean(samples_ms)
        cv = statistics.pstdev(samples_ms) / mean if mean > 0 else 0.0
    else:
        q1 = q3 = median
        cv = 0.0
    return TimingStats(
        median_ms=median, iqr_ms=q3 - q1, cv=cv, trials=len(samples_ms), min_ms=min(samples_ms)
    )


def l2_flush_buffer(device: torch.device) -> torch.Tensor | None:
    """A buffer twice the L2 size; writing it before a call evicts whatever the last call left."""
    if device.type != "cuda":
        return None
    l2 = getattr(torch.cuda.get_device_properties(device), "L2_cache_size", 0) or FALLBACK_L2_BYTES
    return torch.empty(2 * l2 // 4, dtype=torch.float32, device=device)


@dataclass
class InputSet:
    """One allocation of the inputs plus the base values its floating tensors are rescaled from."""

    live: list[Any]
    base: list[torch.Tensor | None]

    @classmethod
    def of(cls, inputs: list[Any]) -> InputSet:
        base = [x.clone() if isinstance(x, torch.Tensor) and x.is_floating_point() else None for x in inputs]
        return cls(inputs, base)

    def refresh(self, rng: random.Random) -> list[Any]:
        """New values in the same allocation, so nothing keyed on values can be replayed either."""
        scale = rng.uniform(0.75, 1.25)
        for live, base in zip(self.live, self.base, strict=True):
            if base is not None:
                live.copy_(base).mul_(scale)
        return self.live


class Timer:
    """Times one call: flush L2, synchronise the device, clock, call, synchronise, clock."""

    def __init__(self, device: torch.device):
        self.device = device
        self.flush = l2_flush_buffer(device)

    def sync(self) -> None:
        if self.device.type == "cuda":
            _synchronize()

    def __call__(self, fn: Callable[..., Any], args: list[Any]) -> tuple[float, Any]:
        if self.flush is not None:
            self.flush.zero_()
        self.sync()
        start = _clock()
        with torch.no_grad():
            out = fn(*args)
        self.sync()
        return (_clock() - start) * 1e3, out


def _run_candidate(s: Session, timer: Timer, args: list[Any]) -> tuple[float, Any]:
    from kernelwright.sandbox.verify import CandidateRaised

    try:
        return timer(s.cand_model, args)
    except BaseException as err:
        s.raise_violation()
        raise CandidateRaised("ModelNew.forward (during timing)", err, s.candidate_file) from None


def _spot_check(s: Session, out: Any, expected: Any, call: int) -> None:
    outs = flatten_output(out, "ModelNew.forward (during timing)")
    refs = [expected] if isinstance(expected, torch.Tensor) else list(expected)
    for o, r in zip(outs, refs, strict=False):
        atol, rtol = tolerance_for(r.dtype, s.job.atol, s.job.rtol)
        cmp = compare(o, r, atol, rtol)
        if not cmp.passed:
            raise CheckFailed(
                Status.incorrect,
                "timing-spot-check",
                f"timed call {call} returned a wrong result: {cmp.reason}",
            )


def interleaved(s: Session, timer: Timer, pool: list[InputSet]) -> tuple[list[float], list[float]]:
    """Candidate and reference alternately on the same rotated inputs until enough calls/time."""
    job = s.job
    rng = random.Random(os.urandom(16))
    spots = set(rng.sample(range(job.timing_min_calls), k=min(job.timing_spot_checks, job.timing_min_calls)))
    cand_ms: list[float] = []
    ref_ms: list[float] = []
    started = _clock()
    call = 0
    while True:
        args = pool[call % len(pool)].refresh(rng)
        ms, out = _run_candidate(s, timer, args)
        cand_ms.append(ms)
        ms_ref, expected = timer(s.ref_model, args)
        ref_ms.append(ms_ref)
        if call in spots:
            _spot_check(s, out, expected, call)
        del out, expected
        call += 1
        spent = _clock() - started
        if call >= job.timing_min_calls and spent >= job.timing_min_seconds:
            break
        if spent >= job.timing_max_seconds and call >= 5:
            break
    return cand_ms, ref_ms


def time_compiled(s: Session, timer: Timer, pool: list[InputSet]) -> list[float]:
    compiled = torch.compile(s.ref_model)
    rng = random.Random(os.urandom(16))
    for _ in range(max(2, s.job.warmup_calls)):
        timer(compiled, pool[0].refresh(rng))
    samples: list[float] = []
    started = _clock()
    while len(samples) < s.job.timing_min_calls or _clock() - started < s.job.timing_min_seconds:
        samples.append(timer(compiled, pool[len(samples) % len(pool)].refresh(rng))[0])
        if _clock() - started >= s.job.timing_max_seconds and len(samples) >= 5:
            break
    return samples


def time_session(s: Session, verdict: Verdict, extra: dict[str, Any]) -> None:
    """Fills the verdict's timings and speedups; extra gets the bytes moved for the roofline rule."""
    from kernelwright.sandbox.verify import fresh_seed, tensor_bytes

    timer = Timer(s.device)
    pool = [InputSet.of(s.make_inputs(fresh_seed())) for _ in range(ROTATION_SETS)]
    warm_rng = random.Random(os.urandom(8))
    for _ in range(s.job.warmup_calls):
        args = pool[0].refresh(warm_rng)
        _run_candidate(s, timer, args)
        timer(s.ref_model, args)
    cand_ms, ref_ms = interleaved(s, timer, pool)
    s.after_candidate_code()
    verdict.candidate_timing = timing_stats(cand_ms)
    verdict.eager_timing = timing_stats(ref_ms)
    if verdict.candidate_timing.median_ms > 0:
        verdict.speedup_vs_eager = verdict.eager_timing.median_ms / verdict.candidate_timing.median_ms
    outputs = s.call_reference(pool[0].live)
    extra["io_bytes"] = tensor_bytes(pool[0].live) + tensor_bytes(outputs)
    if s.job.torch_compile_baseline:
        verdict.compiled_timing = timing_stats(time_compiled(s, timer, pool))
        if verdict.candidate_timing.median_ms > 0:
            verdict.speedup_vs_compiled = (
                verdict.compiled_timing.median_ms / verdict.candidate_timing.median_ms
            )
