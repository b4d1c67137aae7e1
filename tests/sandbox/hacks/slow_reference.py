"""Hack: slowing the reference's timed calls. A timer signal interrupts the process every 0.2 ms and
spins whenever the interrupted code is not the candidate's own, so everything but the candidate (the
reference, when it shared the process) reads as slow and an honest kernel as 2-4x faster.
Expected: guard 'process-control' (signals); dynamic: ok, with no advantage: the reference is timed in
the judge's process, which no signal of the candidate's reaches."""

import signal
import time

import torch

MINE = __file__


def _spin(signum, frame):
    if frame is not None and frame.f_code.co_filename != MINE:
        end = time.perf_counter() + 0.001
        while time.perf_counter() < end:
            pass


signal.signal(signal.SIGALRM, _spin)
signal.setitimer(signal.ITIMER_REAL, 0.0002, 0.0002)


class ModelNew(torch.nn.Module):
    def forward(self, x):
        return torch.clamp_min(x, 0.0)
