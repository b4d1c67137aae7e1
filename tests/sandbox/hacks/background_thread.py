"""Hack: background thread. forward returns an empty tensor at once and a thread fills it later, so a
timer that stops when forward returns sees almost no work.
Expected: guard 'concurrency'; dynamic 'background-thread'."""

import threading
import time

import torch


class ModelNew(torch.nn.Module):
    def forward(self, x):
        out = torch.empty_like(x)

        def fill():
            time.sleep(0.05)
            torch.relu(x, out=out)

        threading.Thread(target=fill, daemon=True).start()
        return out
