"""Rules on the candidate's Python AST that hold for every task and level (no PyTorch policy here).

Each rule has a stable id that goes into the Verdict and back to the Coder. The rules target the
known reward hacks: work hidden on other streams or threads, patched timers and torch functions,
the reference's output fished out of the garbage collector or caller frames, the reference model
itself, lazy tensor subclasses, and a candidate escaping its sandbox (files, network, processes,
environment). They read the AST, so strings and comments never trigger them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from kernelwright.contracts import GuardFinding
from kernelwright.sandbox.guard.compiler_calls import compiler_findings
from kernelwright.sandbox.guard.imports import dotted, import_findings

CONCURRENCY_MODULES = {
    "threading",
    "_thread",
    "multiprocessing",
    "asyncio",
    "subprocess",
    "concurrent",
    "sched",
}
NETWORK_MODULES = {
    "socket", "ssl", "urllib", "urllib3", "http", "requests", "httpx", "aiohttp", "ftplib", "smtplib",
    "telnetlib", "xmlrpc", "websocket", "websockets", "paramiko", "grpc",
}  # fmt: skip
INTROSPECTION_MODULES = {"gc", "inspect", "traceback", "tracemalloc", "weakref"}
DYNAMIC_CODE_MODULES = {"importlib", "builtins", "runpy", "code", "codeop", "pickle", "marshal", "dill"}
NATIVE_MODULES = {"ctypes", "cffi", "mmap"}
PROCESS_MODULES = {"signal", "resource", "pty", "pexpect"}
FILE_MODULES = {"shutil", "tempfile", "glob", "fileinput"}
# Modules whose attributes a candidate must not reassign: the reference and the timer live in them.
PATCHABLE_ROOTS = {
    "torch",
    "time",
    "cupy",
    "numpy",
    "np",
    "math",
    "os",
    "sys",
    "random",
    "kernelwright",
    "F",
    "nn",
}

DYNAMIC_CODE_CALLS = {"eval", "exec", "compile", "__import__", "globals", "locals", "vars", "breakpoint"}
FRAME_ATTRS = {"_getframe", "f_back", "f_locals", "f_globals", "gi_frame", "tb_frame", "__globals__", "__closure__",
               "__code__", "__subclasses__", "__builtins__", "settrace", "setprofile", "_current_frames", "modules"}  # fmt: skip
OS_PROCESS_CALLS = {
    "fork", "forkpty", "kill", "killpg", "_exit", "abort", "system", "popen", "spawnl", "spawnv", "spawnve",
    "spawnlp", "execv", "execve", "execl", "execlp", "execvp", "setsid", "setpgid", "posix_spawn", "nice",
}  # fmt: skip
OS_FILE_CALLS = {
    "remove", "unlink", "rename", "renames", "replace", "rmdir", "removedirs", "mkdir", "makedirs", "chmod",
    "chown", "symlink", "link", "truncate", "open", "write", "chdir", "mkfifo", "listdir", "scandir", "walk",
}  # fmt: skip
PATH_WRITE_METHODS = {"write_text", "write_bytes", "unlink", "mkdir", "touch", "rmdir", "rename", "replace",
                      "symlink_to", "hardlink_to", "chmod", "read_text", "read_bytes"}  # fmt: skip
ENV_ATTRS = {"environ", "environb", "getenv", "putenv", "unsetenv", "getenvb"}
STREAM_CALLS = {"Stream", "ExternalStream", "stream", "StreamContext"}
GRAPH_CALLS = {"CUDAGraph", "graph", "make_graphed_callables"}
SUBCLASS_HOOKS = {"__torch_function__", "__torch_dispatch__", "_make_subclass", "_make_wrapper_subclass"}

MESSAGES = {
    "concurrency": "uses {what}: work on other threads or processes escapes timing and verification; "
    "do all work inside forward on the calling thread",
    "network": "uses {what}: candidates have no network access",
    "introspection": "uses {what}: inspecting the interpreter, frames or other objects can read the "
    "reference's results; compute the output yourself",
    "dynamic-code": "uses {what}: dynamic code and imports are not allowed; write the code out",
    "native-code": "uses {what}: raw native calls bypass the sandbox; launch kernels through CudaModule",
    "process-control": "uses {what}: candidates must not create, signal or end processes",
    "file-access": "uses {what}: candidates must not read or write files",
    "environment": "reads the environment ({what}); a kernel needs nothing from it",
    "side-stream": "creates a CUDA stream ({what}); launch on torch's current stream so timing sees all work",
    "cuda-graph": "uses CUDA graphs ({what}); replayed graphs can skip work, launch kernels directly",
    "monkeypatch": "assigns to {what}: patching modules can fake timings or the reference",
    "try-except": "wraps code in try/except: errors must surface, not fall back to another path",
    "reference-model": "uses the reference {what}: ModelNew must compute the result itself",
    "tensor-subclass": "uses {what}: tensor subclasses and torch function hooks can return lazy or fake results",
    "memoization": "uses {what}: caching outputs across calls fakes speed; compute every call",
}


def finding(rule: str, node: ast.AST | None, what: str) -> GuardFinding:
    line = getattr(node, "lineno", None)
    return GuardFinding(rule=rule, line=line, where="python", message=MESSAGES[rule].format(what=what) + ".")


def import_aliases(tree: ast.Module) -> dict[str, str]:
    """Local name -> dotted module path (or `module.attr` for from-imports), for every import, and
    for names bound to an imported path by plain assignment (`o = os`, `nnf = torch.nn.functional`),
    so that renaming a module does not hide it from the name-based rules."""
    aliases: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                aliases[local] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module:
            for alias in node.names:
                aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    for _ in range(3):  # aliases of aliases
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and isinstance(node.value, ast.Name | ast.Attribute):
                root: ast.expr = node.value
                while isinstance(root, ast.Attribute):
                    root = root.value
                if isinstance(root, ast.Name) and root.id in aliases:
                    full = dotted(node.value, aliases)
                    for target in node.targets:
                        if isinstance(target, ast.Name) and full and target.id not in aliases:
                            aliases[target.id] = full
    return aliases


def module_rules(
    tree: ast.Module, reference_names: set[str], constants: dict[str, str] | None = None
) -> list[GuardFinding]:
    """Every hygiene rule over the whole (rewritten) module, in line order; `constants` are the
    file's static strings, for imports by a computed name."""
    aliases = import_aliases(tree)
    found: list[GuardFinding] = []
    for node in ast.walk(tree):
        found.extend(_import_findings(node))
        found.extend(import_findings(node, aliases, reference_names, constants or {}))
        found.extend(_name_findings(node, aliases))
        found.extend(_call_findings(node, aliases))
        found.extend(_structure_findings(node, aliases))
    found.extend(compiler_findings(tree, aliases))
    return sorted(found, key=lambda f: (f.line or 0, f.rule))


def _import_findings(node: ast.AST) -> Iterator[GuardFinding]:
    modules: list[str] = []
    if isinstance(node, ast.Import):
        modules = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        modules = [node.module or ""]
        if any(a.name == "Model" for a in node.names):
            yield finding("reference-model", node, "Model (imported)")
    for module in modules:
        root = module.split(".")[0]
        table = (
            ("concurrency", CONCURRENCY_MODULES), ("network", NETWORK_MODULES),
            ("introspection", INTROSPECTION_MODULES), ("dynamic-code", DYNAMIC_CODE_MODULES),
            ("native-code", NATIVE_MODULES), ("process-control", PROCESS_MODULES),
            ("file-access", FILE_MODULES),
        )  # fmt: skip
        for rule, names in table:
            if root in names:
                yield finding(rule, node, f"import {module}")


def _name_findings(node: ast.AST, aliases: dict[str, str]) -> Iterator[GuardFinding]:
    if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
        if node.id == "Model":
            yield finding("reference-model", node, "Model")
        elif node.id in ("__builtins__", "__import__"):
            yield finding("dynamic-code", node, node.id)
        elif aliases.get(node.id, "").startswith("os.") and node.id in ENV_ATTRS:
            yield finding("environment", node, f"os.{node.id}")
    if isinstance(node, ast.Attribute):
        full = dotted(node, aliases) or ""
        if node.attr in FRAME_ATTRS and (node.attr != "modules" or full == "sys.modules"):
            yield finding("introspection", node, full or node.attr)
        elif node.attr in ENV_ATTRS and full.startswith("os."):
            yield finding("environment", node, full)
        elif node.attr in SUBCLASS_HOOKS:
            yield finding("tensor-subclass", node, node.attr)


def _call_findings(node: ast.AST, aliases: dict[str, str]) -> Iterator[GuardFinding]:
    if not isinstance(node, ast.Call):
        return
    full = dotted(node.func, aliases) or ""
    name = full.split(".")[-1] if full else ""
    if isinstance(node.func, ast.Name) and node.func.id in DYNAMIC_CODE_CALLS and node.func.id not in aliases:
        yield finding("dynamic-code", node, f"{node.func.id}()")
    elif (
        isinstance(node.func, ast.Name)
        and node.func.id in ("open", "exit", "quit")
        and node.func.id not in aliases
    ):
        rule = "file-access" if node.func.id == "open" else "process-control"
        yield finding(rule, node, f"{node.func.id}()")
    elif full.startswith("os.") and name in OS_PROCESS_CALLS | {
        "exec" + s for s in ("l", "le", "lp", "lpe", "v", "vp", "vpe")
    }:
        yield finding("process-control", node, full)
    elif full.startswith("os.") and name in OS_FILE_CALLS:
        yield finding("file-access", node, full)
    elif full in (
        "sys.exit",
        "io.open",
        "torch.save",
        "torch.load",
        "numpy.save",
        "numpy.load",
        "np.save",
        "np.load",
    ):
        yield finding("process-control" if full == "sys.exit" else "file-access", node, full)
    elif (
        isinstance(node.func, ast.Attribute)
        and node.func.attr in PATH_WRITE_METHODS
        and "Path" in ast.dump(node.func.value)
    ):
        yield finding("file-access", node, f"Path.{node.func.attr}")
    elif (what := _compiler_process(node, full)) is not None:
        yield finding("process-control", node, what)
    elif (
        full.startswith(("torch.cuda.", "cupy.cuda.", "torch.Stream"))
        and name in STREAM_CALLS
        and not _wraps_torch_current_stream(node, full, aliases)
    ):
        yield finding("side-stream", node, full)
    elif full.startswith(("torch.cuda.", "cupy.cuda.")) and name in GRAPH_CALLS:
        yield finding("cuda-graph", node, full)
    elif name in ("setattr", "delattr") and full == name and node.args:
        target = dotted(node.args[0], aliases) or ""
        if target.split(".")[0] in PATCHABLE_ROOTS:
            yield finding("monkeypatch", node, f"{name}({target}, ...)")
    elif full.startswith("functools.") and name in ("cache", "lru_cache", "cached_property"):
        yield finding("memoization", node, full)


def _compiler_process(node: ast.Call, full: str) -> str | None:
    """A direct kernel library told to run a compiler process the candidate picks: cupy's nvcc
    backend (only its in-process NVRTC one is sealed off from exec), or SourceModule's `nvcc=`,
    which names the program pycuda runs (the audit hooks trust pycuda's compiler to spawn)."""
    keywords = {kw.arg: kw.value for kw in node.keywords}
    if full in ("cupy.RawKernel", "cupy.RawModule") and "backend" in keywords:
        backend = keywords["backend"]
        if not (isinstance(backend, ast.Constant) and backend.value == "nvrtc"):
            return f"{full}(backend=...) other than 'nvrtc'"
    if full == "pycuda.compiler.SourceModule" and ("nvcc" in keywords or None in keywords):
        return "SourceModule(nvcc=...), which chooses the program pycuda runs"
    return None


def _wraps_torch_current_stream(node: ast.Call, full: str, aliases: dict[str, str]) -> bool:
    """`cupy.cuda.ExternalStream(torch.cuda.current_stream().cuda_stream)`: cupy's handle on the
    stream torch (and the timer) already uses, which is how a cupy launch joins torch's stream."""
    if full != "cupy.cuda.ExternalStream" or len(node.args) != 1:
        return False
    handle = node.args[0]
    return (
        isinstance(handle, ast.Attribute)
        and handle.attr == "cuda_stream"
        and isinstance(handle.value, ast.Call)
        and dotted(handle.value.func, aliases) == "torch.cuda.current_stream"
    )


def _structure_findings(node: ast.AST, aliases: dict[str, str]) -> Iterator[GuardFinding]:
    if isinstance(node, ast.Try | ast.TryStar):
        yield finding("try-except", node, "try")
    elif isinstance(node, ast.ClassDef):
        for base in node.bases:
            full = dotted(base, aliases) or ""
            if full == "Model" or full.endswith(".Model"):
                yield finding("reference-model", node, f"Model as the base of {node.name}")
            elif full in ("torch.Tensor", "torch._tensor.Tensor", "torch.Tensor.Tensor") or full.endswith(
                ".Tensor"
            ):
                yield finding("tensor-subclass", node, f"a torch.Tensor subclass ({node.name})")
    elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
        if isinstance(node, ast.AsyncFunctionDef):
            yield finding("concurrency", node, f"async def {node.name}")
        if node.name in SUBCLASS_HOOKS:
            yield finding("tensor-subclass", node, f"def {node.name}")
        for deco in node.decorator_list:
            full = dotted(deco.func if isinstance(deco, ast.Call) else deco, aliases) or ""
            if full.split(".")[-1] in ("cache", "lru_cache", "cached_property") and full.startswith(
                "functools"
            ):
                yield finding("memoization", deco, full)
    elif isinstance(node, ast.Assign | ast.AugAssign | ast.AnnAssign | ast.Delete):
        targets = node.targets if isinstance(node, ast.Assign | ast.Delete) else [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute):
                full = dotted(target, aliases) or ""
                if full.split(".")[0] in PATCHABLE_ROOTS and full.split(".")[0] != "self":
                    yield finding("monkeypatch", target, full)
