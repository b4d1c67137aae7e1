"""A runner whose first timed loop disagrees with the judge's clock, as a burst of load on the
machine would make it: the first ten timed calls (after one warm-up) report a fiftieth of their
duration, every later call its true one.
Expected: guard 'monkeypatch'; dynamic ok, timed again after loop 1 (only a loop whose times the
judge's clock confirms is kept)."""

import time

import torch

import kernelwright.sandbox.timer as timer

_real_call = timer.Timer.__call__
_calls = [0]


def _first_loop_forged(self, fn, args):
    ms, out = _real_call(self, fn, args)
    _calls[0] += 1
    return (ms / 50 if 2 <= _calls[0] <= 11 else ms), out


timer.Timer.__call__ = _first_loop_forged


class ModelNew(torch.nn.Module):
    def forward(self, x):
        time.sleep(0.004)
        return torch.clamp_min(x, 0.0)
