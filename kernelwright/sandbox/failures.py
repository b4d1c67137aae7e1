"""The one exception both sides of the sandbox raise when a check decides the verdict."""

from __future__ import annotations

from kernelwright.contracts import Status


class CheckFailed(Exception):
    """A check that decided the verdict: carries status, rule and one sentence."""

    def __init__(self, status: Status, rule: str, message: str, log: str = ""):
        super().__init__(message)
        self.status = status
        self.rule = rule
        self.message = message
        self.log = log
