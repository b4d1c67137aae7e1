"""What the PyTorch policy calls glue and what it calls compute, by name, for Python and for C++.

Glue (allocation, views, reshapes, contiguous, sizes, dtypes, device moves) is allowed at every
level; anything else PyTorch computes is compute. The data flow (dataflow.py) decides which
expressions are PyTorch values; these tables only judge the names once it has.
"""

from __future__ import annotations

import re

TORCH_GLUE = {
    "empty", "empty_like", "empty_strided", "zeros", "zeros_like", "ones", "ones_like", "full", "full_like",
    "tensor", "as_tensor", "Size", "device", "dtype", "finfo", "iinfo", "is_tensor", "no_grad", "inference_mode",
    "get_default_dtype", "broadcast_shapes", "promote_types", "current_stream", "current_device",
    "get_device_capability", "is_available", "set_device", "device_count", "Parameter",
}  # fmt: skip
TENSOR_GLUE = {
    "contiguous", "view", "view_as", "reshape", "reshape_as", "flatten", "unflatten", "squeeze", "unsqueeze",
    "permute", "transpose", "t", "expand", "expand_as", "narrow", "select", "split", "chunk", "unbind",
    "as_strided", "size", "dim", "ndimension", "numel", "nelement", "stride", "storage_offset",
    "is_contiguous", "data_ptr", "element_size", "to", "cuda", "cpu", "float", "half", "bfloat16", "double",
    "int", "long", "type", "type_as", "new_empty", "new_zeros", "new_ones", "new_full", "new_tensor",
    "zero_", "fill_", "detach", "requires_grad_", "get_device", "item", "tolist", "__len__",
}  # fmt: skip
SCALAR_RESULTS = {"size", "dim", "ndimension", "numel", "nelement", "stride", "storage_offset", "is_contiguous",
                  "data_ptr", "element_size", "get_device", "item", "tolist", "__len__"}  # fmt: skip
# Tensor attributes that are tensors themselves (views) and those that are plain metadata.
TENSOR_VIEW_ATTRS = {"T", "mT", "H", "mH", "real", "imag", "data", "grad"}
TENSOR_META_ATTRS = {
    "shape", "dtype", "device", "ndim", "is_cuda", "layout", "requires_grad", "is_leaf", "itemsize",
    "nbytes", "names", "grad_fn", "is_sparse", "is_quantized", "is_meta", "is_cpu",
    "ptr",  # cupy's arr.data.ptr: the address, as data_ptr() is
}  # fmt: skip
# cupy's RawKernel/RawModule and pycuda's SourceModule compile the candidate's own CUDA too.
KERNEL_FACTORIES = {
    "CudaModule", "load_inline", "cpp_extension.load", "cupy.RawKernel", "cupy.RawModule", "compiler.SourceModule",
}  # fmt: skip
# Methods of a kernel module that hand out a kernel (pycuda's and cupy's get_function): calling one
# makes a launchable kernel and launches nothing.
KERNEL_GETTERS = {"get_function", "get_kernel"}
NON_TENSOR_FACTORIES = {"device", "dtype", "Size", "Generator", "Stream", "Event", "finfo", "iinfo"}
# `torch.float16` and friends are objects passed around as arguments, not functions.
TORCH_CONSTANT = re.compile(
    r"^(u?int\d+|float\d*|bfloat16|complex\d*|bool|half|double|cfloat|cdouble|long|short|int|"
    r"strided|sparse_\w+|contiguous_format|channels_last(_3d)?|preserve_format|float8_\w+|pi|e|inf|nan)$"
)
# operator.* functions that compute when given a tensor; the rest (getitem, index, truth...) are glue.
OPERATOR_GLUE = {
    "getitem", "index", "length_hint", "is_", "is_not", "truth", "not_", "contains", "countOf",
    "indexOf", "setitem", "delitem", "itemgetter", "attrgetter", "methodcaller", "call", "__getitem__",
    "__index__", "__contains__", "__not__",
}  # fmt: skip
# Builtins that compute on a tensor argument (abs(x) is x.abs(), sum(x) adds rows in PyTorch).
MATH_BUILTINS = {"abs", "pow", "round", "sum", "divmod", "min", "max"}
# Builtins whose first argument is called with the elements of the others.
CALL_THROUGH = {"map", "filter", "functools.reduce", "operator.call"}
# Builtins that hand their arguments' elements back (in a container, or one of them for next).
PASS_THROUGH = {"list", "tuple", "set", "frozenset", "sorted", "reversed", "iter", "next", "zip", "enumerate",
                "dict", "staticmethod", "classmethod"}  # fmt: skip
# Callees that take objects without calling them: a torch function passed to these does not escape.
INERT = {
    "isinstance",
    "issubclass",
    "callable",
    "id",
    "type",
    "hasattr",
    "len",
    "print",
    "repr",
    "str",
    "range",
}
# Array libraries compute on a tensor they are handed (np.tanh(x.cpu()), cupy on a DLPack view);
# converting and allocating is glue.
ARRAY_LIBRARIES = {"numpy", "cupy", "cupyx", "scipy", "jax", "np", "cp"}
ARRAY_GLUE = {"asarray", "array", "from_dlpack", "asnumpy", "ascontiguousarray", "empty", "empty_like", "zeros",
              "zeros_like", "ones", "ones_like", "full", "frombuffer", "dtype", "shape", "ndim", "size"}  # fmt: skip


# GPU array libraries are judged by name, not by whether a tensor reaches them: an array built over
# x.data_ptr() (cupy.ndarray over UnownedMemory) is the tensor's data all the same. Their math
# (cupy.matmul, cupyx.scipy, cuBLAS through cupy.cuda.cublas, pycuda.cumath, skcuda) is library
# compute; cupy's ElementwiseKernel/ReductionKernel/fuse and cupyx.jit are too, since cupy writes
# the kernel around the candidate's snippet and the guard reads no __global__ of it (level 1 asks
# for a kernel the guard and the launch check can name). Device, stream and memory handles are glue.
GPU_ARRAY_LIBRARIES = {"cupy", "cupyx", "cupy_backends", "pycuda", "skcuda", "nvmath"}
GPU_GLUE_MODULES = ("cupy.cuda.", "cupy_backends.cuda.api.", "pycuda.driver.", "pycuda.autoinit",
                    "pycuda.autoprimaryctx", "pycuda.tools.")  # fmt: skip
GPU_MATH_LIBS = (
    "cublas",
    "cusolver",
    "cusparse",
    "cufft",
    "curand",
    "cudnn",
    "cutensor",
    "thrust",
    "cub",
    "nccl",
)
GPU_MATH_MODULES = (*(f"cupy.cuda.{lib}" for lib in GPU_MATH_LIBS), "cupy_backends.cuda.libs.")
GPU_ARRAYS = {"ndarray", "GPUArray", "to_gpu", "to_gpu_async", "empty", "zeros", "empty_like", "zeros_like",
              "asarray", "array", "from_dlpack", "ascontiguousarray", "as_strided"}  # fmt: skip
GPU_LIBRARY_KERNELS = {"ElementwiseKernel", "ReductionKernel", "fuse", "rawkernel", "get_elwise_kernel", "ScanKernel", "InclusiveScanKernel", "ExclusiveScanKernel"}  # fmt: skip
SCALAR_CASTS = {"int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
                "float64", "complex64", "complex128", "bool_", "intp", "uintp", "intc", "uintc", "longlong",
                "ulonglong", "half", "single", "double", "dtype", "result_type", "promote_types"}  # fmt: skip


def gpu_library_call(qualified: str) -> str:
    """What calling a cupy/pycuda/skcuda name is: 'scalar' (a number or dtype), 'array' (a view of
    device memory), 'glue' (device, stream, memory management), 'kernel-factory' (a library kernel
    object), or 'compute'. A name ending in `()` is an object a library kernel factory made."""
    last = qualified.split(".")[-1]
    if qualified.endswith("()"):
        return "compute"
    if qualified.startswith(GPU_MATH_MODULES):
        return "compute"
    if qualified.startswith(GPU_GLUE_MODULES):
        return "glue"
    if last in GPU_LIBRARY_KERNELS:
        return "kernel-factory"
    if last in SCALAR_CASTS:
        return "scalar"
    if last in GPU_ARRAYS:
        return "array"
    return "compute"


def torch_glue(qualified: str) -> bool:
    """`torch.empty` and `torch.cuda.*` (device and stream management; the stream rules judge that)."""
    return qualified.startswith(("torch.cuda.", "torch.backends.")) or qualified.split(".")[-1] in TORCH_GLUE


def makes_kernels(qualified: str) -> bool:
    parts = qualified.split(".")
    return parts[-1] in KERNEL_FACTORIES or ".".join(parts[-2:]) in KERNEL_FACTORIES


def torch_result(qualified: str) -> str | None:
    """What calling the torch name gives: 'layer' (an nn.Module), 'tensor', or None (an object)."""
    last = qualified.split(".")[-1]
    if qualified.startswith("torch.nn.") and last[:1].isupper() and last != "Parameter":
        return "layer"
    if qualified.startswith(("torch.cuda.", "torch.backends.")) or last in NON_TENSOR_FACTORIES:
        return None
    return "tensor"


# ---------------------------------------------------------------- C++ (load_inline host code)

# torch::/at:: functions that allocate, describe or manage devices; every other lower-case function
# in those namespaces is ATen compute. Capitalised names are types (Tensor, TensorOptions, Scalar).
CPP_GLUE = {
    "empty", "empty_like", "empty_strided", "zeros", "zeros_like", "ones", "ones_like", "full", "full_like",
    "from_blob", "tensor", "dtype", "device", "device_of", "scalarTypeToTypeMeta", "typeMetaToScalarType",
    "elementSize", "toString", "globalContext", "getCurrentCUDAStream", "getDefaultCUDAStream",
    "getCurrentDeviceProperties", "getDeviceProperties", "current_device", "set_device", "device_count",
    "is_available", "getCurrentCUDABlasHandle", "isFloatingType", "isComplexType", "isIntegralType",
    "requires_grad", "layout", "memory_format", "kFloat", "manual_seed",
}  # fmt: skip
# Tensor methods that compute (x.sum(), x.mm(y)...): flagged in C++ text, where no types are known,
# so the list is explicit rather than "anything not glue".
CPP_COMPUTE_METHODS = {
    "abs", "abs_", "add", "add_", "addmm", "addmv", "amax", "amin", "argmax", "argmin", "baddbmm", "bmm",
    "clamp", "clamp_", "clamp_min", "clamp_max", "clone", "copy_", "cumprod", "cumsum", "div", "div_", "dot",
    "erf", "exp", "exp_", "gather", "gelu", "index_select", "layer_norm", "linear", "log", "log_softmax",
    "logsumexp", "masked_fill", "masked_fill_", "matmul", "max", "mean", "min", "mm", "mul", "mul_", "mv",
    "neg", "norm", "pow", "prod", "relu", "relu_", "rsqrt", "scatter", "scatter_", "sigmoid", "sigmoid_",
    "silu", "softmax", "sort", "sqrt", "std", "sub", "sub_", "sum", "tanh", "tanh_", "topk", "var", "where",
    "conv2d", "embedding", "einsum", "square", "reciprocal", "sign", "maximum", "minimum",
}  # fmt: skip
