"""GPU kernels one forward of the candidate launched, recorded with torch.profiler (CUPTI) in the
runner and sent to the judge as (name, microseconds) pairs for its launch rule."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def record_kernel_events(forward: Callable[[], Any]) -> list[tuple[str, float]]:
    import torch
    from torch._C._autograd import DeviceType
    from torch.profiler import ProfilerActivity, profile

    torch.cuda.synchronize()
    # The raw forward only: the runner's checks around a trial launch copy kernels of their own.
    with profile(activities=[ProfilerActivity.CUDA]) as prof, torch.no_grad():
        forward()
        torch.cuda.synchronize()
    return [
        (evt.name, float(evt.time_range.elapsed_us()))
        for evt in prof.events()
        if getattr(evt, "device_type", None) == DeviceType.CUDA
    ]
