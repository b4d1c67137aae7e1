"""Red-team of the direct-loader and TUNE surfaces: candidates that launch through cupy.RawKernel /
RawModule or pycuda's SourceModule themselves, and TUNE values that reach the compiler as -D options.

Each class: the hack (a file in hacks/ or a variant of an honest loader candidate), the rule that
rejects it with one sentence, and the honest candidates that must keep passing. Everything here is
static (the guard never runs candidate code) except one CPU sandbox run per verdict path.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from kernelwright.contracts import Candidate, Status, Task
from kernelwright.kernelbench import find_task
from kernelwright.sandbox.build.candidate_source import builder_options, cuda_sources, runs_nvcc_at_load
from kernelwright.sandbox.build.tuning import TuneError, parse_tune, variants
from kernelwright.sandbox.config import SandboxConfig
from kernelwright.sandbox.evaluate import Sandbox
from kernelwright.sandbox.guard.policy import check
from kernelwright.sandbox.guard.static_check import static_verdict

HERE = Path(__file__).parent
HACKS = HERE / "hacks"
CANDIDATES = HERE / "loader_candidates"
CUPY = (CANDIDATES / "cupy_rawkernel_relu.py").read_text()
RAWMODULE = (CANDIDATES / "cupy_rawmodule_relu.py").read_text()
PYCUDA = (CANDIDATES / "pycuda_sourcemodule_relu.py").read_text()
CUPY_CALL = "            self.relu("
PYCUDA_BUILD = "SourceModule(CUDA_SOURCE)"
CUPY_BUILD = 'cupy.RawKernel(CUDA_SOURCE, "relu_kernel")'


def relu_task(level: int = 1) -> Task:
    task = find_task("level1/19_ReLU")
    return task if level == 1 else task.model_copy(update={"level": level})


def variant(source: str, old: str, new: str) -> str:
    assert old in source, old
    return source.replace(old, new, 1)


def rules(source: str, level: int = 1) -> set[str]:
    return {f.rule for f in check(relu_task(level), Candidate(source=source))}


def rejected_by(source: str, rule: str, level: int = 1) -> str:
    """The finding's message for `rule`, after checking it is there and one sentence."""
    findings = check(relu_task(level), Candidate(source=source))
    messages = [f.message for f in findings if f.rule == rule]
    assert messages, [(f.rule, f.message) for f in findings]
    message = messages[0]
    assert message.endswith(".") and message.count(". ") == 0 and "\n" not in message, message
    return message


# ---------------------------------------------------------------- 1. library math through cupy on level 1

LIBRARY_MATH = [
    # cupy on a DLPack view, the trivial kernel still launched
    ("dlpack_view", CUPY_CALL, "            cupy.maximum(cupy.from_dlpack(x), 0, out=cupy.from_dlpack(y))\n" + CUPY_CALL),
    # torch's own dlpack export in between
    ("torch_dlpack", CUPY_CALL,
     "            v = cupy.from_dlpack(torch.utils.dlpack.to_dlpack(x))\n            w = v.clip(0)\n" + CUPY_CALL),
    # cuBLAS through cupy with raw pointers: no array, no tensor reaches a cupy function
    ("cublas_pointers", CUPY_CALL,
     "            h = cupy.cuda.device.get_cublas_handle()\n"
     "            cupy.cuda.cublas.sgemm(h, 0, 0, n, 1, 1, 1, x.data_ptr(), n, x.data_ptr(), 1, 0, y.data_ptr(), n)\n"
     + CUPY_CALL),
    # an array over the tensor's memory built from x.data_ptr(), then a method of it
    ("pointer_view_method", CUPY_CALL,
     "            m = cupy.cuda.MemoryPointer(cupy.cuda.UnownedMemory(x.data_ptr(), n * 4, None), 0)\n"
     "            a = cupy.ndarray((n,), cupy.float32, m)\n            a.clip(0, None, out=a)\n" + CUPY_CALL),
    # cupy's kernel factories: the kernel is cupy's, around a snippet
    ("elementwise_kernel", CUPY_CALL,
     "            k = cupy.ElementwiseKernel('float32 a', 'float32 b', 'b = max(a, 0.f)', 'r')\n"
     "            k(cupy.from_dlpack(x), cupy.from_dlpack(y))\n" + CUPY_CALL),
    ("reduction_kernel_from_init", "        self.relu = " + CUPY_BUILD,
     "        self.red = cupy.ReductionKernel('T x', 'T y', 'x', 'a + b', 'y = a', '0', 'r')\n        self.relu = "
     + CUPY_BUILD),
    ("cupyx_scipy", CUPY_CALL, "            cupyx.scipy.special.expit(cupy.from_dlpack(x))\n" + CUPY_CALL),
    ("allocated_then_copied", CUPY_CALL,
     "            buf = cupy.empty((n,), cupy.float32)\n"
     "            cupy.cuda.runtime.memcpy(buf.data.ptr, x.data_ptr(), n * 4, 3)\n            buf.max()\n" + CUPY_CALL),
]  # fmt: skip


@pytest.mark.parametrize(("name", "old", "new"), LIBRARY_MATH, ids=[c[0] for c in LIBRARY_MATH])
def test_cupy_library_math_is_compute_on_level_1(name: str, old: str, new: str) -> None:
    source = variant(CUPY, old, new)
    if "cupyx" in new:
        source = variant(source, "import cupy\n", "import cupy\nimport cupyx.scipy.special\n")
    if name == "reduction_kernel_from_init":
        source = variant(
            source, CUPY_CALL, "            self.red(cupy.from_dlpack(x), cupy.from_dlpack(y))\n" + CUPY_CALL
        )
    message = rejected_by(source, "torch-op-in-forward")
    # a method of a cupy array is judged like the tensor method it mirrors (.clip(), .max())
    assert "GPU library" in message or name in (
        "torch_dlpack",
        "pointer_view_method",
        "allocated_then_copied",
    )


def test_the_library_math_hack_file_is_rejected_on_level_1_and_its_kernel_still_counts() -> None:
    source = (HACKS / "loader_cupy_library_math.py").read_text()
    assert "cupy.maximum() (GPU library math) computes in a GPU library" in rejected_by(
        source, "torch-op-in-forward"
    )
    # on level 2 library math is allowed next to the candidate's own kernel, as PyTorch layers are
    assert rules(source, level=2) == set()


@pytest.mark.parametrize(
    ("imports", "line"),
    [
        # cupy's cuBLAS bindings under their own package name
        ("from cupy_backends.cuda.libs import cublas",
         "cublas.sgemm(0, 0, 0, n, 1, 1, 1, x.data_ptr(), n, x.data_ptr(), 1, 0, y.data_ptr(), n)"),
        # pycuda's array math over the tensor's pointer
        ("import pycuda.cumath\nimport pycuda.gpuarray",
         "pycuda.cumath.fabs(pycuda.gpuarray.GPUArray((n,), cupy.float32, gpudata=x.data_ptr()))"),
        ("import nvmath", "nvmath.linalg.advanced.matmul(cupy.from_dlpack(x), cupy.from_dlpack(x))"),
    ],
)  # fmt: skip
def test_other_gpu_math_libraries_are_compute_on_level_1(imports: str, line: str) -> None:
    source = variant(
        variant(CUPY, "import torch\n", f"import torch\n{imports}\n"),
        CUPY_CALL,
        f"            {line}\n{CUPY_CALL}",
    )
    assert "GPU library" in rejected_by(source, "torch-op-in-forward")


def test_cupy_kernel_factories_are_not_the_candidates_own_kernel() -> None:
    """An ElementwiseKernel alone does not satisfy no-custom-kernel: the guard reads no __global__
    of it and the launch check cannot name it."""
    only_library = variant(
        CUPY,
        "            self.relu(((n + 255) // 256,), (256,), (cupy.from_dlpack(x), cupy.from_dlpack(y), cupy.int64(n)))",
        "            k = cupy.ElementwiseKernel('float32 a', 'float32 b', 'b = max(a, 0.f)', 'r')\n"
        "            k(cupy.from_dlpack(x), cupy.from_dlpack(y))",
    )
    assert "no-custom-kernel" in rules(only_library, level=2)


def test_cupy_glue_is_not_compute() -> None:
    """Views, scalar casts, stream and memory handles stay glue on level 1."""
    glue = variant(
        CUPY,
        CUPY_CALL,
        "            v = cupy.asarray(x)\n            s = cupy.float32(2.0)\n            d = cupy.cuda.Device(0)\n"
        + CUPY_CALL,
    )
    assert rules(glue) == set()


# ---------------------------------------------------------------- 2. options that steer a compiler

COMPILER_HACKS = [
    # pycuda: the program nvcc runs as its host compiler, and gcc's own program hooks
    ("ccbin", PYCUDA, PYCUDA_BUILD, 'SourceModule(CUDA_SOURCE, options=["-ccbin", "/var/tmp/cc"])', "compiler-options"),
    ("compiler_bindir", PYCUDA, PYCUDA_BUILD, 'SourceModule(CUDA_SOURCE, options=["--compiler-bindir=/var/tmp"])',
     "compiler-options"),
    ("xcompiler_wrapper", PYCUDA, PYCUDA_BUILD, 'SourceModule(CUDA_SOURCE, options=["-Xcompiler", "-wrapper,/bin/sh"])',
     "compiler-options"),
    ("options_file", PYCUDA, PYCUDA_BUILD, 'SourceModule(CUDA_SOURCE, options=["--options-file", "/var/tmp/o"])',
     "compiler-options"),
    ("include_dirs", PYCUDA, PYCUDA_BUILD, 'SourceModule(CUDA_SOURCE, include_dirs=["/etc"])', "compiler-options"),
    ("cache_dir", PYCUDA, PYCUDA_BUILD, 'SourceModule(CUDA_SOURCE, cache_dir="/var/tmp/poisoned")', "compiler-options"),
    ("keep", PYCUDA, PYCUDA_BUILD, "SourceModule(CUDA_SOURCE, keep=True)", "compiler-options"),
    ("arch_smuggle", PYCUDA, PYCUDA_BUILD, 'SourceModule(CUDA_SOURCE, arch="sm_90 -ccbin /bin/sh")', "compiler-options"),
    # the program pycuda runs, by position and through functools.partial
    ("nvcc_positional", PYCUDA, PYCUDA_BUILD, 'SourceModule(CUDA_SOURCE, "/bin/sh")', "process-control"),
    ("nvcc_partial", PYCUDA, PYCUDA_BUILD, 'functools.partial(SourceModule, nvcc="/bin/sh")(CUDA_SOURCE)',
     "compiler-options"),
    ("other_pycuda_compiler", PYCUDA, "self.module = SourceModule(CUDA_SOURCE)",
     "pycuda.compiler.compile(CUDA_SOURCE, nvcc='/bin/sh')\n        self.module = SourceModule(CUDA_SOURCE)",
     "compiler-entry"),
    ("module_from_file", PYCUDA, "self.module = SourceModule(CUDA_SOURCE)",
     "self.module = pycuda.driver.module_from_file('/var/tmp/k.cubin')", "compiler-entry"),
    # cupy: files NVRTC reads into the log, the nvcc backend by position, a cubin path, its compiler module
    ("cupy_pre_include", CUPY, CUPY_BUILD, 'cupy.RawKernel(CUDA_SOURCE, "relu_kernel", options=("--pre-include=/etc/passwd",))',
     "compiler-options"),
    ("cupy_include_path", CUPY, CUPY_BUILD, 'cupy.RawKernel(CUDA_SOURCE, "relu_kernel", ("-I/etc",))', "compiler-options"),
    ("cupy_backend_positional", CUPY, CUPY_BUILD, 'cupy.RawKernel(CUDA_SOURCE, "relu_kernel", (), "nvcc")',
     "compiler-options"),
    ("cupy_path", RAWMODULE, "cupy.RawModule(code=CUDA_SOURCE)", 'cupy.RawModule(path="/var/tmp/k.cubin")',
     "compiler-options"),
    ("cupy_path_positional", RAWMODULE, "cupy.RawModule(code=CUDA_SOURCE)", 'cupy.RawModule(None, "/var/tmp/k.cubin")',
     "compiler-options"),
    ("cupy_compiler_module", CUPY, CUPY_BUILD,
     'cupy.cuda.compiler.compile_using_nvcc(CUDA_SOURCE, options=("-ccbin", "/bin/sh")) or ' + CUPY_BUILD,
     "compiler-entry"),
    ("cupy_kwargs", CUPY, CUPY_BUILD, 'cupy.RawKernel(CUDA_SOURCE, "relu_kernel", **{"backend": "nvcc"})',
     "compiler-options"),
    # a builder reached where no name shows it: the class of a kernel module, a subclass, a computed getattr
    ("type_of_module", PYCUDA, "self.relu = self.module.get_function",
     'type(self.module)(CUDA_SOURCE, "/usr/bin/python3")\n        self.relu = self.module.get_function', "compiler-entry"),
    ("class_of_module", PYCUDA, "self.relu = self.module.get_function",
     'self.module.__class__(CUDA_SOURCE, options=["-ccbin", "/usr/bin/python3"])\n        self.relu = self.module.get_function',
     "compiler-entry"),
    ("type_init", PYCUDA, "self.relu = self.module.get_function",
     'type(self.module).__init__(self.module, CUDA_SOURCE, "/bin/sh")\n        self.relu = self.module.get_function',
     "compiler-entry"),
    ("subclass", PYCUDA, "class ModelNew", "class SM(SourceModule):\n    pass\n\n\nclass ModelNew", "compiler-options"),
    ("computed_getattr", CUPY, CUPY_BUILD,
     'getattr(cupy, "".join(["Raw", "Kernel"]))(CUDA_SOURCE, "relu_kernel", options=("-I/etc",))', "compiler-entry"),
    ("compile_with_cache", CUPY, CUPY_BUILD,
     'cupy.cuda.compile_with_cache(CUDA_SOURCE, options=("-I/etc",)).get_function("relu_kernel")', "compiler-entry"),
    ("cupy_backends_nvrtc", CUPY, CUPY_BUILD,
     "__import__('cupy_backends.cuda.libs.nvrtc') and " + CUPY_BUILD, "dynamic-code"),
    ("numba_jit", CUPY, "class ModelNew", "@numba.cuda.jit\ndef k(x):\n    pass\n\n\nclass ModelNew", "compiler-entry"),
    # options the guard cannot read: computed, or a constant shadowed where the call is
    ("computed_options", CUPY, CUPY_BUILD, 'cupy.RawKernel(CUDA_SOURCE, "relu_kernel", options=tuple(["-I", "/etc"]))',
     "compiler-options"),
    ("shadowed_constant", CUPY, "        self.relu = " + CUPY_BUILD,
     '        OPT = "--pre-include=/etc/passwd"\n        self.relu = cupy.RawKernel(CUDA_SOURCE, "relu_kernel", options=(OPT,))',
     "compiler-options"),
    ("computed_source", CUPY, CUPY_BUILD, 'cupy.RawKernel(CUDA_SOURCE.swapcase().swapcase(), "relu_kernel")',
     "compiler-options"),
    ("replace_with_computed", CUPY, CUPY_BUILD,
     'cupy.RawKernel(CUDA_SOURCE.replace("fmaxf", type(self).__name__), "relu_kernel")', "compiler-options"),
    # `case NAME:` at module level binds NAME to whatever was matched: the constant is not the one read
    ("match_rebinds_source", CUPY, "class ModelNew",
     'match torch.__version__ + "__global__ void k() {}":\n    case CUDA_SOURCE:\n        pass\n\n\nclass ModelNew',
     "compiler-options"),
    ("reserved_define", CUPY, CUPY_BUILD, 'cupy.RawKernel(CUDA_SOURCE, "relu_kernel", options=("-D__CUDA_ARCH__=1000",))',
     "compiler-options"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("name", "base", "old", "new", "rule"), COMPILER_HACKS, ids=[c[0] for c in COMPILER_HACKS]
)
def test_compiler_steering_is_refused(name: str, base: str, old: str, new: str, rule: str) -> None:
    source = variant(base, old, new)
    if name == "shadowed_constant":
        source = variant(source, "import torch\n", 'import torch\n\nOPT = "-DX=1"\n')
    if "functools" in new:
        source = "import functools\n" + source
    if "numba" in new:
        source = "import numba.cuda\n" + source
    if "pycuda.compiler.compile" in new or "pycuda.driver" in new:
        source = "import pycuda.compiler\nimport pycuda.driver\n" + source
    rejected_by(source, rule)
    # the verdict is the guard's: nothing was compiled in the parent
    verdict = static_verdict(relu_task(), Candidate(source=source), arch="sm_90")
    assert verdict.status == Status.rejected and "compile" not in verdict.elapsed_s, verdict.message


def test_the_sourcemodule_ccbin_hack_file_is_rejected() -> None:
    source = (HACKS / "loader_sourcemodule_ccbin.py").read_text()
    assert "the option '-ccbin'" in rejected_by(source, "compiler-options")


def test_the_parent_compiles_only_defines_and_switches_even_without_the_guard() -> None:
    """builder_options (the parent's NVRTC options) never passes a file-naming option on."""
    hostile = textwrap.dedent(
        """
        from kernelwright.sandbox.native import CudaModule
        SRC = "extern \\"C\\" __global__ void k(float* y) { y[0] = 1.f; }"
        M = CudaModule(SRC, options=("-DX=1", "-I/etc", "--pre-include=/etc/passwd", "-include", "/etc/passwd"))
        """
    )
    assert list(builder_options(hostile).values()) == [("-DX=1",)]


HONEST_OPTIONS = [
    (CUPY, CUPY_BUILD, 'cupy.RawKernel(CUDA_SOURCE, "relu_kernel", options=("-DSCALE=2", "--use_fast_math", "-std=c++17"))'),
    (CUPY, CUPY_BUILD, 'cupy.RawKernel(CUDA_SOURCE, "relu_kernel", ("-DSCALE=2",), backend="nvrtc", jitify=False)'),
    (RAWMODULE, "cupy.RawModule(code=CUDA_SOURCE)",
     'cupy.RawModule(code=CUDA_SOURCE, options=("-maxrregcount=64",), name_expressions=["relu_kernel"])'),
    (PYCUDA, PYCUDA_BUILD, 'SourceModule(CUDA_SOURCE, options=["-O3", "--use_fast_math", "-Xptxas=-v"], arch="sm_90")'),
    (PYCUDA, PYCUDA_BUILD, "SourceModule(CUDA_SOURCE, no_extern_c=False, cache_dir=False, include_dirs=[])"),
]  # fmt: skip


@pytest.mark.parametrize(("base", "old", "new"), HONEST_OPTIONS)
def test_honest_options_pass(base: str, old: str, new: str) -> None:
    assert rules(variant(base, old, new)) == set()


# Sources built the ways coders write them, from constants only: the guard reads what will compile.
STATIC_SOURCES = [
    ('"relu_kernel"', "fmaxf(", 'f"""\n#define BLOCK {BLOCK}\n"""'),
    ('"relu_kernel"', "fmaxf(", 'CUDA_SOURCE.replace("fmaxf(", "fmaxf(")'),
    ('"relu_kernel"', "fmaxf(", 'CUDA_SOURCE.replace("BLOCK_SIZE", f"{BLOCK}")'),
]


@pytest.mark.parametrize(("kernel", "marker", "expression"), STATIC_SOURCES)
def test_sources_folded_from_numbers_fstrings_and_replace_pass_and_are_what_compiles(
    kernel: str, marker: str, expression: str
) -> None:
    with_block = variant(CUPY, "import torch\n", "import torch\n\nBLOCK = 256\n")
    if expression.startswith("f"):
        # the f-string with a number is prepended to the source the kernel needs
        source = variant(with_block, CUPY_BUILD, f"cupy.RawKernel({expression} + CUDA_SOURCE, {kernel})")
    else:
        source = variant(with_block, CUPY_BUILD, f"cupy.RawKernel({expression}, {kernel})")
    assert rules(source) == set()
    compiled = cuda_sources(source)
    assert len(compiled) == 1 and marker in compiled[0]
    if "define" in expression:
        assert compiled[0].startswith("\n#define BLOCK 256\n")


def test_a_number_constant_folds_only_while_bound_once() -> None:
    shared = variant(CUPY, "import torch\n", "import torch\n\nBLOCK = 256\n")
    build = 'cupy.RawKernel(f"#define BLOCK {BLOCK}\\n" + CUDA_SOURCE, "relu_kernel")'
    assert rules(variant(shared, CUPY_BUILD, build)) == set()
    changed = variant(
        variant(shared, CUPY_BUILD, build), "        self.relu = ", "        BLOCK = 1\n        self.relu = "
    )
    assert "compiler-options" in rules(changed)


def test_a_shared_module_level_option_list_passes_and_a_changed_one_does_not() -> None:
    shared = variant(CUPY, "import torch\n", 'import torch\n\nFLAGS = ["-DSCALE=2", "--use_fast_math"]\n')
    honest = variant(shared, CUPY_BUILD, 'cupy.RawKernel(CUDA_SOURCE, "relu_kernel", options=tuple(FLAGS))')
    assert "compiler-options" in rules(honest)  # tuple(...) is computed: write the name itself
    honest = variant(shared, CUPY_BUILD, 'cupy.RawKernel(CUDA_SOURCE, "relu_kernel", options=FLAGS)')
    assert rules(honest) == set()
    changed = variant(honest, "        self.relu = ", '        FLAGS.append("-I/etc")\n        self.relu = ')
    assert "compiler-options" in rules(changed)


# ---------------------------------------------------------------- the seal: who runs nvcc at load


def test_only_pycudas_sourcemodule_buys_the_later_seal() -> None:
    assert runs_nvcc_at_load(PYCUDA)
    aliased = variant(
        PYCUDA, "from pycuda.compiler import SourceModule", "from pycuda.compiler import SourceModule as SM"
    )
    assert runs_nvcc_at_load(variant(aliased, PYCUDA_BUILD, "SM(CUDA_SOURCE)"))
    dotted = variant(PYCUDA, "from pycuda.compiler import SourceModule", "import pycuda.compiler as pc")
    assert runs_nvcc_at_load(variant(dotted, PYCUDA_BUILD, "pc.SourceModule(CUDA_SOURCE)"))
    # a cupy candidate that defines (or merely calls) something named SourceModule is sealed first
    claims = variant(CUPY, "import torch\n", "import torch\n\n\ndef SourceModule(code):\n    return code\n")
    claims = variant(
        claims, "        self.relu = ", "        SourceModule(CUDA_SOURCE)\n        self.relu = "
    )
    assert not runs_nvcc_at_load(claims)


# ---------------------------------------------------------------- 3. TUNE values and a changing TUNE


@pytest.mark.parametrize(
    "value",
    ["1 --pre-include=/etc/passwd", "-ccbin", "x=1", "/etc/passwd", "a'b", "", "1\n-Ietc", "float;int"],
)
def test_a_tune_string_value_is_one_token(value: str) -> None:
    source = f"TUNE = {{'MODE': ('fast', {value!r})}}\n"
    with pytest.raises(TuneError, match=r"is not one token of letters, digits"):
        parse_tune(source)


def test_tune_values_that_are_tokens_still_expand() -> None:
    source = 'TUNE = {"MODE": ("fast", "__half", "1.5f", "a-b"), "SHIFT": (-3, 2)}\n'
    assert len(variants(source)) == 8


@pytest.mark.parametrize(
    "change",
    [
        'TUNE["MODE"] = "1 -I/etc"',
        'TUNE.update(MODE="x")',
        "del TUNE['MODE']",
        "T = TUNE",
        "def f():\n    global TUNE\n    TUNE = {}",
        "for TUNE in [{}]:\n    pass",
    ],
)
def test_tune_cannot_change_after_the_static_check_read_it(change: str) -> None:
    source = f'TUNE = {{"MODE": ("fast", "slow")}}\n{change}\n'
    with pytest.raises(TuneError, match=r"TUNE is (changed or bound again|used other than)"):
        parse_tune(source)


def test_the_tune_hack_file_is_a_tune_spec_error() -> None:
    with pytest.raises(TuneError, match="not one token"):
        variants((HACKS / "loader_tune_smuggle.py").read_text())


def test_the_guard_checks_every_tune_choice_in_an_option_and_refuses_a_changed_tune() -> None:
    """Without tuning (analyze, verify of an unexpanded file), the guard expands TUNE itself."""
    tuned = variant(CUPY, "import torch\n", 'import torch\n\nTUNE = {"F": ("DX", "Ietc")}\n')
    tuned = variant(
        tuned, CUPY_BUILD, 'cupy.RawKernel(CUDA_SOURCE, "relu_kernel", options=(f"-{TUNE[\'F\']}",))'
    )
    assert "the option '-Ietc'" in rejected_by(tuned, "compiler-options")
    honest = variant(tuned, '"F": ("DX", "Ietc")', '"F": ("DX", "DY")')
    assert rules(honest) == set()
    changed = variant(honest, "        self.relu = ", '        TUNE["F"] = "Ietc"\n        self.relu = ')
    assert "options the guard cannot read statically" in rejected_by(changed, "compiler-options")


# ---------------------------------------------------------------- through the CPU sandbox


@pytest.fixture(scope="module")
def cpu_sandbox() -> Sandbox:
    sandbox = Sandbox(SandboxConfig(device="cpu", memory_limit_gb=8))
    yield sandbox  # type: ignore[misc]
    sandbox.close()


@pytest.mark.parametrize(
    ("file", "rule"),
    [
        ("loader_sourcemodule_ccbin.py", "compiler-options"),
        ("loader_cupy_library_math.py", "torch-op-in-forward"),
    ],
)
def test_the_sandbox_rejects_the_hack_files_with_their_rule(
    cpu_sandbox: Sandbox, file: str, rule: str
) -> None:
    verdict = cpu_sandbox(relu_task(), Candidate(source=(HACKS / file).read_text(), origin="file"))
    assert verdict.status == Status.rejected and verdict.rule == rule, verdict.message
    assert "\n" not in verdict.message and verdict.message.endswith(".")


# ---------------------------------------------------------------- on a GPU


@pytest.mark.gpu
@pytest.mark.parametrize(("base", "old", "new"), HONEST_OPTIONS[:3])
def test_candidates_with_allowed_options_still_verify_on_a_gpu(base: str, old: str, new: str) -> None:
    """The option whitelist is what cupy's NVRTC accepts at run time, not only what the guard reads."""
    from kernelwright.sandbox.isolation.worker import WorkerClient

    worker = WorkerClient(0)
    try:
        config = SandboxConfig(device="cuda", timing=False)
        verdict = Sandbox(config, worker=worker)(relu_task(), Candidate(source=variant(base, old, new)))
    finally:
        worker.close()
    assert verdict.status == Status.ok, f"{verdict.status} {verdict.rule}: {verdict.message}"
