"""The correctness protocol, run inside the worker child only (it imports the candidate).

Device-agnostic: on 'cpu' it verifies pure-PyTorch candidates so CI exercises every check. Order
matters: the torch snapshot and the audit hooks exist before the candidate is imported; each trial
runs the candidate first, on fresh inputs, over allocator garbage, and the reference afterwards.
"""

from __future__ import annotations

import importlib.util
import os
import resource
import sys
import threading
import time
import traceback
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from kernelwright.contracts import Status, TrialResult, Verdict
from kernelwright.sandbox.config import WorkerJob
from kernelwright.sandbox.runner.audit_hooks import AuditGuard
from kernelwright.sandbox.verify_checks import (
    CheckFailed,
    TorchSnapshot,
    check_materialised,
    check_no_aliasing,
    clone_inputs,
    compare,
    first_mutated,
    flatten_output,
    same_values,
    tolerance_for,
)

GARBAGE_FIRST = float("nan")
# A second, different garbage value: an output that depends on uninitialised memory changes.
GARBAGE_SECOND = -1.2345e30


class CandidateRaised(Exception):
    """The candidate's own code raised; carries a one-line description and its trimmed traceback."""

    def __init__(self, where: str, err: BaseException, candidate_file: str):
        self.log = trimmed_traceback(err, candidate_file)
        line = _candidate_line(err, candidate_file)
        at = f" (candidate line {line})" if line else ""
        super().__init__(f"{where} raised {type(err).__name__}: {str(err)[:300]}{at}")
        self.err = err


def _candidate_line(err: BaseException, candidate_file: str) -> int | None:
    frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == candidate_file]
    return frames[-1].lineno if frames else None


def trimmed_traceback(err: BaseException, candidate_file: str, limit: int = 3000) -> str:
    frames = traceback.extract_tb(err.__traceback__)
    kept = [f for f in frames if f.filename == candidate_file] or frames[-1:]
    lines = [f"  {os.path.basename(f.filename)}, line {f.lineno}, in {f.name}: {f.line or ''}" for f in kept]
    text = "\n".join(lines + [f"{type(err).__name__}: {err}"])
    return text[-limit:]


def fresh_seed() -> int:
    return int.from_bytes(os.urandom(4), "little") & 0x7FFFFFFF


def import_file(path: str, name: str) -> types.ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def fill_allocator_garbage(device: torch.device, sizes_bytes: list[int], value: float) -> None:
    """Allocate blocks of the sizes the candidate will ask for, fill them with garbage and free them,
    so the allocator hands garbage (never a previous result) to an output it does not write."""
    blocks = [torch.full((max(1, n // 4),), value, dtype=torch.float32, device=device) for n in sizes_bytes]
    blocks.append(torch.full((max(1, sum(sizes_bytes) // 2),), value, dtype=torch.float32, device=device))
    synchronize(device)
    del blocks


def tensor_bytes(values: list[Any]) -> int:
    return sum(v.numel() * v.element_size() for v in values if isinstance(v, torch.Tensor))


@dataclass
class Session:
    """The loaded pair of models and everything the checks need."""

    job: WorkerJob
    device: torch.device
    ref_module: types.ModuleType
    ref_model: Any
    cand_model: Any
    init_args: list[Any]
    snapshot: TorchSnapshot
    audit: AuditGuard | None
    candidate_file: str
    output_bytes: list[int] = field(default_factory=list)

    def raise_violation(self) -> None:
        if self.audit is not None and self.audit.violations:
            first = self.audit.violations[0]
            raise CheckFailed(Status.rejected, first.rule, f"the candidate was stopped {first.message}")

    def after_candidate_code(self) -> None:
        self.raise_violation()
        self.snapshot.check()

    def construct_candidate(self, module: types.ModuleType, init_args: list[Any], seed: int) -> Any:
        model_cls = getattr(module, "ModelNew", None)
        if model_cls is None:
            raise CheckFailed(Status.runtime_error, "no-modelnew", "the candidate defines no ModelNew")
        torch.manual_seed(seed)
        try:
            model = model_cls(*init_args)
            if isinstance(model, torch.nn.Module):
                model = model.to(self.device)
        except BaseException as err:
            self.raise_violation()
            raise CandidateRaised("ModelNew(...)", err, self.candidate_file) from None
        self.after_candidate_code()
        return model

    def call_candidate(self, args: list[Any]) -> list[torch.Tensor]:
        """One forward of the candidate with every per-call check around it."""
        threads_before = set(threading.enumerate())
        try:
            with torch.no_grad():
                out = self.cand_model(*args)
        except BaseException as err:
            self.raise_violation()
            raise CandidateRaised("ModelNew.forward", err, self.candidate_file) from None
        self.after_candidate_code()
        started = [t for t in threading.enumerate() if t not in threads_before and t.is_alive()]
        if started:
            raise CheckFailed(
                Status.rejected,
                "background-thread",
                f"forward returned while its thread '{started[0].name}' was still running",
            )
        outs = flatten_output(out, "ModelNew.forward")
        check_materialised(outs)
        # Copied on the current stream before a device-wide sync: work left running on a side stream
        # (or a thread) makes the copy differ from the output after the sync.
        at_return = [o.clone() for o in outs]
        synchronize(self.device)
        for o, copy in zip(outs, at_return, strict=True):
            if not same_values(o, copy):
                raise CheckFailed(
                    Status.rejected,
                    "output-changed-after-return",
                    "the output changed after forward returned: work on a side stream or "
                    "thread was not joined to the current stream",
                )
        return outs

    def call_reference(self, args: list[Any]) -> list[torch.Tensor]:
        try:
            with torch.no_grad():
                out = self.ref_model(*args)
        except Exception as err:
            raise CheckFailed(
                Status.runtime_error,
                "reference-failed",
                f"the reference Model raised {type(err).__name__}: {err}",
            ) from None
        synchronize(self.device)
        return [out] if isinstance(out, torch.Tensor) else list(out)

    def make_inputs(self, seed: int) -> list[Any]:
        torch.manual_seed(seed)
        values = list(self.ref_module.get_inputs())
        return [v.to(self.device) if isinstance(v, torch.Tensor) else v for v in values]


def load(job: WorkerJob, workdir: str, phase: Callable[[str], None] = lambda _: None) -> Session:
    """Imports the reference, snapshots torch, installs the audit hooks, imports the candidate,
    builds both models from the same seed and calls the candidate once (the native path compiles)."""
    device = torch.device(job.device)
    if device.type == "cuda":
        torch.cuda.init()
        torch.cuda.set_device(0)
        torch.empty(1, device=device)  # creates the context before the memory limit applies
        if job.data_limit_after_cuda_init_bytes:
            limit = job.data_limit_after_cuda_init_bytes
            resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    ref_path = os.path.realpath(os.path.join(workdir, os.path.basename(job.task_filename) or "reference.py"))
    cand_path = os.path.realpath(os.path.join(workdir, "candidate_model_new.py"))
    for path, text in ((ref_path, job.task_source), (cand_path, job.candidate_source)):
        with open(path, "w") as f:
            f.write(text)
    ref_module = import_file(ref_path, "kw_reference")
    init_args = list(ref_module.get_init_inputs())
    seed = fresh_seed()
    torch.manual_seed(seed)
    ref_model = ref_module.Model(*init_args).to(device)
    audit = None
    if job.audit:
        from kernelwright.sandbox.runner.audit_hooks import install

        audit = install(cand_path, workdir)
    snapshot = TorchSnapshot(ref_module, ref_model)
    session = Session(job, device, ref_module, ref_model, None, init_args, snapshot, audit, cand_path)
    try:
        cand_module = import_file(cand_path, "kw_candidate")
    except BaseException as err:
        session.raise_violation()
        raise CandidateRaised("importing the candidate", err, cand_path) from None
    session.after_candidate_code()
    session.cand_model = session.construct_candidate(cand_module, init_args, seed)
    phase("first-call")
    warm = session.call_candidate(session.make_inputs(fresh_seed()))
    session.output_bytes = [o.numel() * o.element_size() for o in warm]
    return session


def run_trial(s: Session, index: int, seed: int) -> tuple[TrialResult, CheckFailed | None]:
    """Candidate first on fresh inputs over NaN garbage, then the reference, then the candidate again."""
    inputs = s.make_inputs(seed)
    pristine = clone_inputs(inputs)
    garbage_sizes = s.output_bytes + [
        x.numel() * x.element_size() for x in inputs if isinstance(x, torch.Tensor)
    ]
    fill_allocator_garbage(s.device, garbage_sizes, GARBAGE_FIRST)
    outs = s.call_candidate(inputs)
    mutated = first_mutated(inputs, pristine)
    if mutated is not None:
        raise CheckFailed(Status.rejected, "input-mutated", f"the candidate modified input {mutated}")
    check_no_aliasing(outs, inputs)
    expected = s.call_reference(clone_inputs(pristine))
    if len(expected) != len(outs):
        raise CheckFailed(Status.incorrect, "output-count", f"{len(outs)} outputs instead of {len(expected)}")
    result = TrialResult(trial=index, seed=seed, passed=True, numel=0)
    for out, ref in zip(outs, expected, strict=True):
        atol, rtol = tolerance_for(ref.dtype, s.job.atol, s.job.rtol)
        cmp = compare(out, ref, atol, rtol)
        result.numel += cmp.numel
        result.mismatched += cmp.mismatched
        result.max_abs_error = max(result.max_abs_error or 0.0, cmp.max_abs_error or 0.0)
        result.max_rel_error = max(result.max_rel_error or 0.0, cmp.max_rel_error or 0.0)
        if not cmp.passed:
            result.passed = False
            rule = "mismatch" if cmp.max_abs_error is not None else "shape-mismatch"
            return result, CheckFailed(Status.incorrect, rule, f"trial {index}: {cmp.reason}")
    fill_allocator_garbage(s.device, garbage_sizes, GARBAGE_SECOND)
    again = s.call_candidate(clone_inputs(pristine))
    try:
        check_no_aliasing(again, outs)
    except CheckFailed:
        raise CheckFailed(
            Status.rejected,
            "output-reused",
            "two calls returned the same memory: outputs are cached across calls instead of computed",
        ) from None
    for out, first in zip(again, outs, strict=True):
        atol, rtol = tolerance_for(first.dtype, s.job.atol, s.job.rtol)
        if not compare(out, first, atol, rtol).passed:
            result.passed = False
            return result, CheckFailed(
                Status.incorrect,
                "nondeterministic",
                f"trial {index}: two runs on the same inputs disagree (uninitialised or out-of-bounds reads)",
            )
    return result, None


def shape_trial(s: Session, index: int, trials: list[TrialResult]) -> str | None:
    """One trial with the task's size constants changed; returns a note when it cannot be made."""
    from kernelwright.kernelbench.sizes import apply_sizes, scaled_sizes, size_constants, variant_numel

    original = size_constants(s.ref_module)
    numel = variant_numel(s.ref_module, original) or 0
    sizes = scaled_sizes(s.ref_module, max(1, min(s.job.shape_trial_max_numel, numel // 2)))
    if sizes == original:
        return "no shape-generalisation trial: the task has no scalable size constant"
    changed = ", ".join(f"{k}={v}" for k, v in sizes.items() if original[k] != v)
    saved = (s.ref_model, s.cand_model, s.output_bytes)
    apply_sizes(s.ref_module, sizes)
    try:
        init_args = list(s.ref_module.get_init_inputs())
        if repr(init_args) != repr(s.init_args):
            seed = fresh_seed()
            torch.manual_seed(seed)
            s.ref_model = s.ref_module.Model(*init_args).to(s.device)
            s.cand_model = s.construct_candidate(sys.modules["kw_candidate"], init_args, seed)
        s.output_bytes = []
        result, failure = run_trial(s, index, fresh_seed())
    except CandidateRaised as err:
        raise CheckFailed(
            Status.incorrect, "shape-generalisation", f"with sizes changed ({changed}) {err}"
        ) from None
    finally:
        apply_sizes(s.ref_module, original)
        s.ref_model, s.cand_model, s.output_bytes = saved
    trials.append(result)
    if failure is not None and failure.status == Status.incorrect:
        raise CheckFailed(
            Status.incorrect,
            "shape-generalisation",
            f"wrong when the task's sizes change ({changed}): {failure.message}",
        )
    if failure is not None:
        raise failure
    return None


def classify_exception(err: BaseException) -> tuple[Status, str]:
    text = str(err)
    if isinstance(err, MemoryError) or "can't allocate memory" in text or "out of memory" in text.lower():
        return Status.crashed, "memory-limit"
    return Status.runtime_error, "exception"


def evaluate_job(job: WorkerJob, workdir: str, phase: Callable[[str], None]) -> dict[str, Any]:
    """The child's whole evaluation: a Verdict plus what the parent needs for the roofline rule."""
    trials: list[TrialResult] = []
    elapsed: dict[str, float] = {}
    extra: dict[str, Any] = {"io_bytes": None, "gpu_name": None}
    verdict = Verdict(status=Status.ok, device=job.device)
    session: Session | None = None
    started = time.perf_counter()
    try:
        session = load(job, workdir, phase)
        elapsed["load"] = time.perf_counter() - started
        phase("run")
        verdict = verify_and_time(session, trials, elapsed, extra)
    except CheckFailed as failed:
        verdict = Verdict(status=failed.status, rule=failed.rule, message=failed.message)
    except CandidateRaised as err:
        status, rule = classify_exception(err.err)
        verdict = Verdict(status=status, rule=rule, message=str(err), log=err.log)
    except BaseException as err:  # noqa: BLE001 -- the verdict must come back whatever happened
        status, rule = classify_exception(err)
        verdict = Verdict(
            status=status,
            rule=rule,
            message=f"{type(err).__name__}: {str(err)[:300]}",
            log=traceback.format_exc()[-3000:],
        )
    if session is not None and session.audit is not None and session.audit.violations:
        first = session.audit.violations[0]
        verdict.status, verdict.rule = Status.rejected, first.rule
        verdict.message = f"the candidate was stopped {first.message}"
    verdict.trials = trials
    verdict.device = job.device
    if job.device == "cuda" and torch.cuda.is_initialized():
        extra["gpu_name"] = torch.cuda.get_device_name(0)
        verdict.gpu_name = extra["gpu_name"]
    verdict.elapsed_s.update(elapsed)
    return {"verdict": verdict.model_dump(mode="json"), **extra}


def verify_and_time(
    s: Session, trials: list[TrialResult], elapsed: dict[str, float], extra: dict[str, Any]
) -> Verdict:
    started = time.perf_counter()
    notes = []
    for index in range(s.job.trials):
        result, failure = run_trial(s, index, fresh_seed())
        trials.append(result)
        if failure is not None:
            raise failure
    if s.job.shape_trial:
        note = shape_trial(s, s.job.trials, trials)
        if note:
            notes.append(note)
    elapsed["verify"] = time.perf_counter() - started
    shape = " including one with the task's sizes changed" if s.job.shape_trial and not notes else ""
    verdict = Verdict(status=Status.ok, message=f"correct on all {len(trials)} trials{shape}")
    if s.job.launch_check and s.device.type == "cuda":
        from kernelwright.sandbox.launch_check import run_launch_check

        run_launch_check(s)
    if s.job.timing:
        from kernelwright.sandbox.timing import time_session

        started = time.perf_counter()
        time_session(s, verdict, extra)
        elapsed["time"] = time.perf_counter() - started
    if notes:
        verdict.message += "; " + "; ".join(notes)
    return verdict
