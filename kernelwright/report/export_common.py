"""What every export format shares: the templates, and the CUDA source read statically from a
stored candidate (candidate code is never executed in kernelwright's process)."""

from __future__ import annotations

import re
from importlib.resources import files
from string import Template

__all__ = ["compile_switches", "cuda_sources_of", "cuda_text", "op_name", "template"]


def template(name: str) -> Template:
    return Template(
        files("kernelwright.report").joinpath("export_templates", name).read_text(encoding="utf-8")
    )


def cuda_sources_of(code: str) -> list[str]:
    """The candidate's CUDA source strings, each with the -D defines its builder passes written in
    as #define lines (undefined after it), since an exported file is compiled without the
    candidate's options; raises what the static reader raises."""
    from kernelwright.sandbox.build.candidate_source import builder_options, cuda_sources

    options = builder_options(code)
    return [_with_defines(source, options.get(source, ())) for source in cuda_sources(code)]


def compile_switches(code: str) -> tuple[str, ...]:
    """The options other than defines (fast math, a register cap) that the candidate's builders
    pass, when every CUDA source gets the same ones: an exported module compiles its sources as
    one, so switches that differ between them are not carried."""
    from kernelwright.sandbox.build.candidate_source import builder_options, cuda_sources

    options = builder_options(code)
    kinds = {tuple(o for o in options.get(s, ()) if not _DEFINE.fullmatch(o)) for s in cuda_sources(code)}
    return kinds.pop() if len(kinds) == 1 else ()


_DEFINE = re.compile(r"-D\s*([A-Za-z_]\w*)(?:=(.*))?")


def _with_defines(source: str, options: tuple[str, ...]) -> str:
    defines = [m.groups() for o in options if (m := _DEFINE.fullmatch(o))]
    if not defines:
        return source
    head = "".join(f"#define {name} {'1' if value is None else value}\n" for name, value in defines)
    tail = "".join(f"#undef {name}\n" for name, _ in defines)
    return f"{head}{source.rstrip()}\n{tail}"


def cuda_text(code: str) -> str:
    """kernel.cu's body: the sources, or a comment saying why there are none."""
    try:
        sources = cuda_sources_of(code)
    except Exception as err:  # a stored candidate always parsed once; say so rather than crash
        return f"// The CUDA source could not be read statically from model_new.py: {err}\n"
    if not sources:
        return "// model_new.py holds no CUDA source string (a PyTorch-level rewrite).\n"
    return "\n\n".join(sources).strip() + "\n"


def op_name(task_key: str) -> str:
    """A name valid as a torch.library op and a Python identifier: 'level1/19_ReLU' -> 'level1_19_relu'."""
    name = re.sub(r"\W+", "_", task_key).strip("_").lower() or "task"
    return name if name[0].isalpha() else f"task_{name}"
