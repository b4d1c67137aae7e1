"""The precision both sides of an evaluation run at: full FP32, TF32 off.

On Ampere and later, cuDNN convolutions (and matmuls where enabled) default to TF32, whose 10-bit
mantissa misses the fp32 tolerance (1e-4 + 1e-4·|ref|): an honest full-fp32 convolution kernel would
read as incorrect against a TF32 reference. The judge's reference and baselines and the runner
therefore both run with TF32 off; a task that wants another precision states its own ATOL/RTOL.
"""

from __future__ import annotations

import torch

PRECISION = "fp32 (TF32 off)"


def use_full_fp32() -> None:
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.set_float32_matmul_precision("highest")
