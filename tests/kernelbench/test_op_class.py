"""The operator class of a task, from its source and name: every bundled task gets a specific one,
fused tasks take their heavy op, and task files written the way upstream KernelBench writes them
(functional ops, Sequential blocks, helper classes, names that say 'Loss' or 'Norm') land where a
kernel engineer would put them."""

from __future__ import annotations

from functools import cache

import pytest

from kernelwright.contracts import Task
from kernelwright.kernelbench import load_suite
from kernelwright.kernelbench.op_class import OpClass, classify, classify_task


@cache
def bundled() -> dict[str, Task]:
    listing = load_suite()
    assert listing.errors == []
    return {task.key: task for task in listing.tasks}


def test_every_bundled_task_gets_a_specific_class() -> None:
    classes = {key: classify_task(task) for key, task in bundled().items()}
    assert len(classes) >= 36
    assert [key for key, op_class in classes.items() if op_class is OpClass.other] == []
    # The suite spans the classes the examples are meant to connect.
    assert {OpClass.matmul, OpClass.conv, OpClass.norm, OpClass.softmax, OpClass.attention} <= set(
        classes.values()
    )


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("level1/1_Square_GEMM", OpClass.matmul),
        ("level1/3_Matrix_Vector", OpClass.matmul),
        ("level1/5_Depthwise_Conv2d", OpClass.conv),
        ("level1/6_Softmax", OpClass.softmax),
        ("level1/8_RMSNorm", OpClass.norm),  # pow/mean/rsqrt in forward; the name says norm
        ("level1/9_Sum_Reduction", OpClass.reduction),
        ("level1/11_Cumsum", OpClass.scan),
        ("level1/14_Transpose", OpClass.data_movement),
        ("level1/17_MSE_Loss", OpClass.loss),  # written out as mean((p - t) ** 2)
        ("level1/19_ReLU", OpClass.activation),
        ("level2/4_Scaled_Softmax", OpClass.softmax),  # the scaling multiply does not decide
        ("level2/5_Residual_Add_LayerNorm", OpClass.norm),
        ("level2/8_Conv2d_MaxPool_ReLU", OpClass.conv),  # the first heavy op wins
        ("level2/10_BMM_Scaled_Softmax", OpClass.matmul),  # one product: scores, not attention
        ("level3/1_MLP", OpClass.matmul),
        ("level3/2_Multi_Head_Attention", OpClass.attention),  # attention written out in matmuls
        ("level3/4_LSTM_Cell", OpClass.rnn),
        ("level3/5_Transformer_Encoder_Layer", OpClass.attention),
    ],
)
def test_bundled_tasks_by_name(key: str, expected: OpClass) -> None:
    assert classify_task(bundled()[key]) is expected


def _task_file(init: str, forward: str, extra: str = "") -> str:
    return f"""import torch
import torch.nn as nn
import torch.nn.functional as F
{extra}

class Model(nn.Module):
    def __init__(self, *args):
        super().__init__()
{init or "        pass"}

    def forward(self, x):
{forward}


def get_inputs():
    return [torch.randn(16, 16)]


def get_init_inputs():
    return []
"""


@pytest.mark.parametrize(
    ("name", "init", "forward", "expected"),
    [
        (
            "54_conv_standard_3D__square_input__square_kernel",
            "        self.conv3d = nn.Conv3d(3, 64, (3, 3, 3), bias=False)",
            "        return self.conv3d(x)",
            OpClass.conv,
        ),
        (
            "61_conv_transposed_3D__square_input__square_kernel",
            "        self.conv_transpose3d = nn.ConvTranspose3d(3, 64, 3)",
            "        return self.conv_transpose3d(x)",
            OpClass.conv_transpose,
        ),
        (
            "41_Max_Pooling_1D",
            "        self.maxpool = nn.MaxPool1d(kernel_size=4, stride=2)",
            "        return self.maxpool(x)",
            OpClass.pooling,
        ),
        (
            "47_Sum_reduction_over_a_dimension",
            "",
            "        return torch.sum(x, dim=1, keepdim=True)",
            OpClass.reduction,
        ),
        ("53_Min_reduction_over_a_dimension", "", "        return torch.min(x, dim=1)[0]", OpClass.reduction),
        ("24_LogSoftmax", "", "        return torch.log_softmax(x, dim=1)", OpClass.softmax),
        ("30_Softsign", "", "        return x / (1 + torch.abs(x))", OpClass.activation),
        (
            "88_MinGPTNewGelu",
            "",
            "        return 0.5 * x * (1.0 + torch.tanh(0.79788456 * (x + 0.044715 * torch.pow(x, 3.0))))",
            OpClass.activation,
        ),
        (
            "100_HingeLoss",
            "",
            "        return torch.mean(torch.clamp(1 - x * x.flip(0), min=0))",
            OpClass.loss,
        ),
        ("95_CrossEntropyLoss", "", "        return F.cross_entropy(x, x.argmax(1))", OpClass.loss),
        ("38_L1Norm_", "", "        return x / torch.sum(torch.abs(x), dim=1, keepdim=True)", OpClass.norm),
        ("91_cumsum_reverse", "", "        return torch.cumsum(x.flip(1), dim=1).flip(1)", OpClass.scan),
        ("5_Matrix_scalar_multiplication", "", "        return x * 3.5", OpClass.elementwise),
        ("12_Matmul_with_diagonal_matrices_", "", "        return torch.diag(x) @ x", OpClass.matmul),
        (
            "12_Gemm_Multiply_LeakyReLU",
            "        self.gemm = nn.Linear(16, 16)",
            "        return F.leaky_relu(self.gemm(x) * 2.0, negative_slope=0.1)",
            OpClass.matmul,
        ),
        (
            "33_Gemm_Scale_BatchNorm",  # the name says norm; the GEMM is the work
            "        self.gemm = nn.Linear(16, 16)\n        self.bn = nn.BatchNorm1d(16)",
            "        return self.bn(self.gemm(x) * 2.0)",
            OpClass.matmul,
        ),
        (
            "35_LTSMHn",
            "        self.lstm = nn.LSTM(16, 16, 2, batch_first=True)\n        self.fc = nn.Linear(16, 4)",
            "        out, state = self.lstm(x)\n        return self.fc(out[:, -1, :])",
            OpClass.rnn,
        ),
    ],
)
def test_upstream_style_tasks(name: str, init: str, forward: str, expected: OpClass) -> None:
    assert classify(_task_file(init, forward), name) is expected


def test_submodules_are_followed_through_sequential_lists_and_helper_classes() -> None:
    helper = """
class DenseLayer(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))

    def forward(self, x):
        return torch.cat([x, self.body(x)], 1)
"""
    source = _task_file(
        "        self.layers = nn.ModuleList([DenseLayer() for _ in range(4)])",
        "        for layer in self.layers:\n            x = layer(x)\n        return x",
        helper,
    )
    assert classify(source, "15_DenseNet121") is OpClass.conv
    # The class's own helper methods and module functions count as forward's ops.
    methods = _task_file(
        "        self.w = nn.Parameter(torch.randn(16, 16))",
        "        return self._project(x).softmax(-1)\n\n    def _project(self, x):\n        return x.mm(self.w)",
    )
    assert classify(methods, "7_whatever") is OpClass.matmul
    function = _task_file(
        "", "        return scan(x)", "\ndef scan(x):\n    return torch.cumprod(x, dim=0)\n"
    )
    assert classify(function, "7_whatever") is OpClass.scan


def test_without_a_readable_source_the_name_decides() -> None:
    assert classify("def broken(:", "23_Conv3d_GroupNorm_Mean") is OpClass.conv
    assert classify("", "2_Standard_matrix_multiplication_") is OpClass.matmul
    assert classify("", "40_LayerNorm") is OpClass.norm
    assert classify("", "9_Tall_skinny_matrix_multiplication_") is OpClass.matmul
    assert classify("", "37_LTSMCn") is OpClass.rnn
    assert classify("", "something_unheard_of") is OpClass.other
    # Short words count only whole: 'Consumption' holds no 'sum'.
    assert classify("", "Consumption_Estimate") is OpClass.other


def test_the_class_is_deterministic() -> None:
    task = bundled()["level3/2_Multi_Head_Attention"]
    assert {classify(task.source, task.name) for _ in range(5)} == {OpClass.attention}
