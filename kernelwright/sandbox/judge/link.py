"""The judge's end of the runner's pipe: one operation, one reply, under a deadline.

Whatever the runner answers is data. A failure it reports is believed when its status is a failing
one (a candidate gains nothing by failing); anything that claims more, does not parse, or arrives
late becomes the verdict: a protocol violation is `rejected`, silence a `timeout`, a closed pipe a
`crashed` runner.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from kernelwright.contracts import Status
from kernelwright.sandbox.failures import CheckFailed
from kernelwright.sandbox.wire import Channel, PeerClosed, PeerTimeout, ProtocolViolation, parse

# The only statuses a runner may report about itself: never ok or suspicious, never incorrect
# (correctness is the judge's to decide).
RUNNER_STATUSES = {Status.rejected, Status.runtime_error, Status.crashed}


@dataclass(frozen=True)
class Limit:
    """When the runner must have answered, and the limit that sets it (for the message and rule)."""

    deadline: float
    seconds: float
    phase: Literal["load", "run"]
    label: str

    @classmethod
    def after(cls, seconds: float, phase: Literal["load", "run"], label: str) -> Limit:
        return cls(time.monotonic() + seconds, seconds, phase, label)


class RunnerError(BaseModel):
    model_config = {"extra": "forbid"}

    status: str
    rule: str
    message: str
    log: str = ""


class RunnerLink:
    """Sends operations to the runner and reads its replies, each under a deadline."""

    def __init__(self, channel: Channel):
        self.channel = channel

    def hello(self, limit: Limit) -> dict[str, Any]:
        """The runner's first line: the walls it put up before any candidate code existed."""
        message = self._receive(limit, "start-up")
        walls = message.get("hello")
        if not isinstance(walls, dict):
            raise violation("start-up", "a first message that is not its hello")
        return walls

    def request(self, op: dict[str, Any], limit: Limit, what: str) -> dict[str, Any]:
        """The `ok` payload of the runner's reply to `op`."""
        self.channel.send(op)
        return self._payload(self._receive(limit, what), what)

    def timed(self, op: dict[str, Any], limit: Limit, what: str) -> tuple[dict[str, Any], float]:
        """As request, plus the wall time in ms from sending `op` to reading its reply."""
        started = time.perf_counter()
        self.channel.send(op)
        message = self._receive(limit, what)
        wall_ms = (time.perf_counter() - started) * 1e3
        return self._payload(message, what), wall_ms

    def _receive(self, limit: Limit, what: str) -> dict[str, Any]:
        try:
            return self.channel.receive(limit.deadline)
        except PeerTimeout:
            raise CheckFailed(
                Status.timeout,
                f"{limit.phase}-time-limit",
                f"the candidate exceeded the {limit.seconds:g} s {limit.label} during {what}; "
                "its process group was killed",
            ) from None
        except PeerClosed:
            raise CheckFailed(
                Status.crashed,
                "process-died",
                f"the candidate's process died during {what} without a verdict",
            ) from None
        except ProtocolViolation as err:
            raise violation(what, str(err)) from None

    @staticmethod
    def _payload(message: dict[str, Any], what: str) -> dict[str, Any]:
        if set(message) == {"ok"} and isinstance(message["ok"], dict):
            return message["ok"]
        if set(message) == {"error"} and isinstance(message["error"], dict):
            error = parse(RunnerError, message["error"])
            if error.status not in {s.value for s in RUNNER_STATUSES}:
                raise violation(what, f"a reply claiming status {error.status[:20]!r}")
            raise CheckFailed(Status(error.status), error.rule[:80], error.message[:1000], error.log[-3000:])
        raise violation(what, "a reply that is neither ok nor error")


def violation(what: str, detail: str) -> CheckFailed:
    return CheckFailed(
        Status.rejected,
        "protocol-violation",
        f"the candidate's process sent {detail} during {what}: only the harness writes there, so it "
        "was tampered with",
    )
