"""Hack: lazy tensor subclass. forward returns a Tensor subclass that only computes when inspected
(after the timer stopped).
Expected: guard 'tensor-subclass'; dynamic 'output-type'."""

import torch


class LazyResult(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        args = [torch.relu(a.as_subclass(torch.Tensor)) if isinstance(a, LazyResult) else a for a in args]
        return func(*args, **kwargs)


class ModelNew(torch.nn.Module):
    def forward(self, x):
        return x.clone().as_subclass(LazyResult)
