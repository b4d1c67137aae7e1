"""The runner: the one process that imports candidate code. It answers the judge's operations on its
pipe and computes nothing the judge believes without checking: outputs go back as data for the judge
to compare, self-measured call times are cross-checked against the wall time the judge observes.

Operations (JSON lines from the judge; each answered by one reply line):
  prepare {seed}              inputs from get_inputs() under the seed, kept for the next call
  call {null?}                one timed call on the prepared inputs -> {ms}; null: the harness alone
  seal                        the walls' second stage (before load for native candidates, after for load_inline)
  load {seed}                 import and construct the candidate (seeded like the reference)
  trial {inputs, garbage, prefix}   one checked forward on the judge's inputs -> {outputs}
  resize {sizes, seed}        the task's size constants changed (None restores) and ModelNew rebuilt
  launch {seed}               kernel events of one forward (GPU) -> {events}
  fetch {prefix}              the last timed call's outputs and its inputs' digest
  finish                      final check that torch and the harness are untouched
A reply is {"ok": ...} or {"error": {status, rule, message, log}}.
"""

from __future__ import annotations

import os
import sys
import threading
import types
from collections.abc import Callable
from typing import Any

import torch

from kernelwright.contracts import Status
from kernelwright.sandbox.config import WorkerJob
from kernelwright.sandbox.failures import CheckFailed
from kernelwright.sandbox.inputs import import_task, make_inputs, synchronize
from kernelwright.sandbox.loaders.selection import select_loader
from kernelwright.sandbox.runner.checks import (
    CandidateRaised,
    TorchSnapshot,
    check_materialised,
    check_no_aliasing,
    classify_exception,
    flatten_output,
)
from kernelwright.sandbox.tensors import digest, same_values
from kernelwright.sandbox.timer import Timer
from kernelwright.sandbox.wire import Channel, PeerClosed, read_values, write_values

GARBAGE_SECOND = -1.2345e30
CANDIDATE_MODULE = "kw_candidate"
TASK_MODULE = "kw_reference"


def fill_allocator_garbage(device: torch.device, sizes_bytes: list[int], value: float) -> None:
    """Allocate blocks of the sizes the candidate will ask for, fill them with garbage and free them,
    so the allocator hands garbage (never a previous result) to an output it does not write."""
    blocks = [torch.full((max(1, n // 4),), value, dtype=torch.float32, device=device) for n in sizes_bytes]
    blocks.append(torch.full((max(1, sum(sizes_bytes) // 2),), value, dtype=torch.float32, device=device))
    synchronize(device)
    del blocks


def harness_owners() -> dict[str, Any]:
    """The runner's own modules and class: replacing what they hold is an attempt on the harness."""
    from kernelwright.sandbox import inputs, tensors, timer, wire

    owners: dict[str, Any] = {m.__name__: m for m in (inputs, tensors, timer, wire, sys.modules[__name__])}
    owners[f"{__name__}.Runner"] = Runner
    return owners


class Runner:
    """State of one evaluation on the candidate's side."""

    def __init__(
        self, job: WorkerJob, workdir: str, exchange: str, channel: Channel, seal: Callable[[], Any]
    ):
        self.job = job
        self.device = torch.device(job.device)
        self.workdir = workdir
        self.exchange = exchange
        self.channel = channel
        self.seal = seal
        task_path = os.path.realpath(os.path.join(workdir, "task_reference.py"))
        self.candidate_file = os.path.realpath(os.path.join(workdir, "candidate_model_new.py"))
        for path, text in ((task_path, job.task_source), (self.candidate_file, job.candidate_source)):
            with open(path, "w") as f:
                f.write(text)
        self.task: types.ModuleType = import_task(task_path, TASK_MODULE)
        self.init_args = list(self.task.get_init_inputs())
        self.timer = Timer(self.device)
        self.audit: Any = None
        self.snapshot: TorchSnapshot | None = None
        self.model: Any = None
        self.saved: tuple[Any, list[Any]] | None = None
        self.prepared: list[Any] | None = None
        self.kept: list[torch.Tensor] | None = None
        self.previous: list[torch.Tensor] = []
        self.output_bytes: list[int] = []
        self.threads: set[threading.Thread] = set(threading.enumerate())

    # ------------------------------------------------------------ the loop

    def serve(self) -> None:
        handlers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "prepare": self.prepare,
            "call": self.call,
            "load": self.load,
            "seal": self.seal_walls,
            "trial": self.trial,
            "resize": self.resize,
            "launch": self.launch,
            "fetch": self.fetch,
            "finish": self.finish,
        }
        while True:
            try:
                op = self.channel.receive()
            except PeerClosed:
                return  # the judge has finished (or died): nobody is left to answer
            name = op.get("op")
            if name == "exit" or name not in handlers:
                return
            try:
                reply = {"ok": handlers[name](op)}
                self.raise_violation()
            except BaseException as err:  # noqa: BLE001 -- every failure is answered, never unwound
                reply = {"error": self._failure(err)}
            self.channel.send(reply)

    def _failure(self, err: BaseException) -> dict[str, Any]:
        """The reply for a failed operation; an audit violation explains it better than the
        exception it caused."""
        failed = self._violation() or err
        if isinstance(failed, CheckFailed):
            status, rule, message, log = failed.status, failed.rule, failed.message, failed.log
        elif isinstance(failed, CandidateRaised):
            (status, rule), message, log = classify_exception(failed.err), str(failed), failed.log
        else:
            (status, rule), message, log = (
                classify_exception(failed),
                f"{type(failed).__name__}: {str(failed)[:300]}",
                "",
            )
        return {"status": str(status), "rule": rule, "message": message, "log": log[-3000:]}

    def _violation(self) -> CheckFailed | None:
        if self.audit is None or not self.audit.violations:
            return None
        first = self.audit.violations[0]
        return CheckFailed(Status.rejected, first.rule, f"the candidate was stopped {first.message}")

    def raise_violation(self) -> None:
        if (violation := self._violation()) is not None:
            raise violation

    def after_candidate_code(self) -> None:
        self.raise_violation()
        if self.snapshot is not None:
            self.snapshot.check()

    # ------------------------------------------------------------ operations

    def prepare(self, op: dict[str, Any]) -> dict[str, Any]:
        # The last call's outputs are freed here, not inside the next call's observed wall time
        # (freeing a large output costs what the calibration's null calls never paid).
        self.kept = self.prepared = None
        self.prepared = make_inputs(self.task, int(op["seed"]), self.device)
        return {}

    def call(self, op: dict[str, Any]) -> dict[str, Any]:
        """One timed call; a null call (the judge's calibration, before any candidate code is
        loaded) runs the same harness path around an empty function."""
        assert self.prepared is not None, "call before prepare"
        fn = (lambda *args: None) if op.get("null") else self.model
        try:
            ms, out = self.timer(fn, self.prepared)
        except BaseException as err:
            raise CandidateRaised("ModelNew.forward (during timing)", err, self.candidate_file) from None
        self.check_threads("a timed call returned")
        if not op.get("null"):
            self.kept = flatten_output(out, "ModelNew.forward (during timing)")
        return {"ms": ms}

    def fetch(self, op: dict[str, Any]) -> dict[str, Any]:
        assert self.kept is not None and self.prepared is not None, "fetch before call"
        outputs = write_values([o.contiguous() for o in self.kept], self.exchange, str(op["prefix"]))
        return {"outputs": outputs, "inputs_digest": digest(self.prepared)}

    def check_threads(self, when: str) -> None:
        """No Python thread the candidate started may outlive the call that started it: one left
        running could finish an output after the call was timed."""
        started = [t for t in threading.enumerate() if t not in self.threads and t.is_alive()]
        if started:
            raise CheckFailed(
                Status.rejected,
                "background-thread",
                f"{when} while its thread '{started[0].name}' was still running",
            )

    def seal_walls(self, op: dict[str, Any]) -> dict[str, Any]:
        """The second stage of the walls (no exec, no new process or socket). The judge asks for it
        before the load for native candidates and after it for load_inline files, which build while
        they are imported; never with candidate frames on the stack (the seal itself uses ctypes
        and a test exec, which the audit hooks would otherwise pin on the candidate)."""
        return {"sealed": self.seal()}

    def load(self, op: dict[str, Any]) -> dict[str, Any]:
        self.threads = set(threading.enumerate())
        # Fixed before any candidate code runs, so CudaModule cannot be steered to another loader.
        select_loader(self.job.loader)
        if self.job.audit:
            from kernelwright.sandbox.runner.audit_hooks import install

            self.audit = install(self.candidate_file, self.workdir)
        self.snapshot = TorchSnapshot(self.task, harness_owners())
        try:
            module = import_task(self.candidate_file, CANDIDATE_MODULE)
        except BaseException as err:
            raise CandidateRaised("importing the candidate", err, self.candidate_file) from None
        self.after_candidate_code()
        self.model = self.construct(module, self.init_args, int(op["seed"]))
        self.check_threads("loading finished")
        return {}

    def construct(self, module: types.ModuleType, init_args: list[Any], seed: int) -> Any:
        model_cls = getattr(module, "ModelNew", None)
        if model_cls is None:
            raise CheckFailed(Status.runtime_error, "no-modelnew", "the candidate defines no ModelNew")
        torch.manual_seed(seed)
        try:
            model = model_cls(*init_args)
            if isinstance(model, torch.nn.Module):
                model = model.to(self.device)
        except BaseException as err:
            raise CandidateRaised("ModelNew(...)", err, self.candidate_file) from None
        self.after_candidate_code()
        return model

    def trial(self, op: dict[str, Any]) -> dict[str, Any]:
        """One forward on the judge's inputs with every per-call check around it."""
        shared = read_values(op["inputs"], self.exchange, self.device, shared=True)
        inputs = [v.to(self.device) if isinstance(v, torch.Tensor) else v for v in shared]
        garbage = float(op.get("garbage", float("nan")))
        sizes = self.output_bytes + [
            x.numel() * x.element_size() for x in inputs if isinstance(x, torch.Tensor)
        ]
        fill_allocator_garbage(self.device, sizes, garbage)
        outs = self._checked_forward(inputs)
        if self.device.type != "cpu":
            # The judge reads the inputs back from the exchange files to see whether they changed.
            for mapped, used in zip(shared, inputs, strict=True):
                if isinstance(mapped, torch.Tensor):
                    mapped.copy_(used)
        check_no_aliasing(
            outs, inputs, "output-aliases-input", "output {output} shares memory with input {other}"
        )
        check_no_aliasing(
            outs,
            self.previous,
            "output-reused",
            "two calls returned the same memory: outputs are cached across calls instead of computed",
        )
        self.previous = outs
        self.output_bytes = [o.numel() * o.element_size() for o in outs]
        return {"outputs": write_values([o.contiguous() for o in outs], self.exchange, str(op["prefix"]))}

    def _checked_forward(self, args: list[Any]) -> list[torch.Tensor]:
        try:
            with torch.no_grad():
                out = self.model(*args)
        except BaseException as err:
            raise CandidateRaised("ModelNew.forward", err, self.candidate_file) from None
        self.after_candidate_code()
        self.check_threads("forward returned")
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

    def resize(self, op: dict[str, Any]) -> dict[str, Any]:
        """Applies the judge's size variant (or restores the original) and rebuilds ModelNew when the
        constructor's arguments change, exactly as the judge rebuilds Model."""
        from kernelwright.kernelbench.sizes import apply_sizes

        sizes = op.get("sizes")
        if sizes is None:
            if self.saved is not None:
                self.model, original = self.saved[0], self.saved[1]
                apply_sizes(self.task, dict(original))
                self.saved = None
            self.output_bytes = []
            return {"rebuilt": False}
        from kernelwright.kernelbench.sizes import size_constants

        self.saved = (self.model, list(size_constants(self.task).items()))
        apply_sizes(self.task, {str(k): int(v) for k, v in sizes.items()})
        init_args = list(self.task.get_init_inputs())
        rebuilt = repr(init_args) != repr(self.init_args)
        if rebuilt:
            self.model = self.construct(sys.modules[CANDIDATE_MODULE], init_args, int(op["seed"]))
        self.output_bytes = []
        return {"rebuilt": rebuilt}

    def launch(self, op: dict[str, Any]) -> dict[str, Any]:
        from kernelwright.sandbox.runner.launch_events import record_kernel_events

        args = make_inputs(self.task, int(op["seed"]), self.device)
        events = record_kernel_events(lambda: self.model(*args))
        self.after_candidate_code()
        return {"events": events}

    def finish(self, op: dict[str, Any]) -> dict[str, Any]:
        self.after_candidate_code()
        return {}


def run(
    job: WorkerJob,
    workdir: str,
    exchange: str,
    channel: Channel,
    walls: dict[str, Any],
    seal: Callable[[], Any],
) -> None:
    """The runner child's whole life after its walls are up."""
    runner = Runner(job, workdir, exchange, channel, seal)
    channel.send({"hello": walls})
    runner.serve()
