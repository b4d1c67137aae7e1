"""Hack: replaying inputs in the timing loop. Honest through the correctness trials, then it replaces
the runner's input generation so that every timed call gets the same inputs, and answers them from a
cache: a dictionary lookup per call.
Expected: guard 'monkeypatch'; dynamic 'inputs-tampered' (a spot check's input digest differs from
the one the judge's seed makes) or 'harness-patched' (the runner's final snapshot)."""

import torch

import kernelwright.sandbox.runner.serve as serve

_state = {"calls": 0, "inputs": None, "output": None}


def _replayed(task, seed, device):
    return _state["inputs"]


class ModelNew(torch.nn.Module):
    def forward(self, x):
        _state["calls"] += 1
        if _state["output"] is not None and x is _state["inputs"][0]:
            return _state["output"].clone()
        out = torch.clamp_min(x, 0.0)
        if _state["calls"] == 12:
            _state["inputs"], _state["output"] = [x.clone()], out.clone()
            serve.make_inputs = _replayed
        return out
