"""The scripted OpenAI-protocol server (tests/support/openai_server.py, a real HTTP server that the real
openai client talks to) answering by prompt content instead of by queue order.

Tasks of a batch run concurrently, so a queue of replies would hand them out in a different order
each run. Here a reply is a pure function of the request: the Coder gets a candidate whose verdict
marker is picked from a hash of the prompt (digits removed, so store ids and timings in the history
do not matter), the Judge a JSON that satisfies both its correction and optimization schemas. A
resumed batch therefore sees exactly the replies a clean one saw."""

from __future__ import annotations

import hashlib
import json
import re
import threading
from typing import Any

from tests.support.openai_server import Captured, Reply, ScriptedServer

CODER, JUDGE = "coder-m", "judge-m"
# Weighted so that most tasks find a correct kernel early and some need a repair round.
VERDICTS = ("ok_1.30x", "ok_2.10x", "incorrect", "ok_0.90x", "compile_error", "ok_2.10x", "ok_1.30x")

JUDGE_REPLY = json.dumps(
    {
        "critical_issue": "The index computation overflows for large tensors.",
        "why_it_matters": "Elements past 2^31 are never written.",
        "minimal_fix_hint": "Use 64-bit indices.",
        "bottleneck": "memory bandwidth",
        "evidence": [
            {
                "metric": "dram__throughput.avg.pct_of_peak_sustained_elapsed",
                "value": 61,
                "reading": "below peak",
            }
        ],
        "method": "vectorize loads",
        "plan": "Load float4 per thread and use a grid-stride loop.",
    }
)


def prompt_key(messages: list[dict[str, Any]]) -> str:
    """Digits removed (store ids, timings) and lines sorted (the loop lists a round's attempts in the
    order their evaluations finished), so concurrent runs of the same batch get the same replies."""
    lines = sorted(line for m in messages for line in str(m.get("content", "")).splitlines())
    text = json.dumps([[m.get("role") for m in messages], lines])
    return hashlib.sha256(re.sub(r"\d", "", text).encode()).hexdigest()


# The elementwise body per task, so that on a real GPU (scripts/gpu-check.d/60-batch.sh) the same
# replies are correct kernels for these tasks; other tasks get ReLU (and a real sandbox says so).
ELEMENTWISE = {
    "level1/12_GELU": "0.5f * v * (1.f + erff(v * 0.70710678118654752f))",
    "level1/13_SiLU": "v / (1.f + expf(-v))",
    "level1/19_ReLU": "v > 0.f ? v : 0.f",
}


def coder_reply(messages: list[dict[str, Any]]) -> str:
    key = prompt_key(messages)
    marker = VERDICTS[int(key[:8], 16) % len(VERDICTS)]
    text = json.dumps(messages)
    body = next((expr for task, expr in ELEMENTWISE.items() if task in text), ELEMENTWISE["level1/19_ReLU"])
    return f"""Here is the kernel.

```python
# verdict: {marker}
# prompt: {key[:12]}
import torch
from kernelwright.sandbox.native import CudaModule

CUDA_SOURCE = r'''
extern "C" __global__ void kernel(const float* __restrict__ x, float* __restrict__ y, long long n) {{
    long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {{ float v = x[i]; y[i] = {body}; }}
}}
'''


class ModelNew(torch.nn.Module):
    def __init__(self, *args):
        super().__init__()
        self.kernels = CudaModule(CUDA_SOURCE)

    def forward(self, x, *rest):
        x = x.contiguous()
        y = torch.empty_like(x)
        n = x.numel()
        self.kernels.launch("kernel", grid=((n + 255) // 256,), block=(256,), args=(x, y, n))
        return y
```
"""


class _ByThread(list):
    """The server's request log, also remembering which handler thread captured which request."""

    def __init__(self) -> None:
        super().__init__()
        self.mine: dict[int, Captured] = {}

    def append(self, item: Captured) -> None:
        self.mine[threading.get_ident()] = item
        super().append(item)


class KeyedServer(ScriptedServer):
    def __init__(self) -> None:
        super().__init__()
        self.requests = _ByThread()

    def next_reply(self, model: str) -> Reply:
        with self._lock:
            captured = self.requests.mine.pop(threading.get_ident())
        if model == JUDGE:
            return Reply(text=JUDGE_REPLY)
        if model == CODER:
            return Reply(text=coder_reply(captured.messages))
        return Reply(status=404, text=f"unknown model {model}")
