"""CLI options that several commands share, declared once so their flags and help stay the same.

The LLM and loop options of `optimize` and `batch` are the fields of agents.run_options.RunOptions:
`with_run_options` turns each field into a flag and hands the command one validated RunOptions.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from pydantic.fields import FieldInfo

from kernelwright.agents.run_options import RunOptions
from kernelwright.contracts import Task
from kernelwright.errors import ConfigError
from kernelwright.gpu.availability import require_gpu
from kernelwright.gpu.target import Target, compile_only_target, cpu_target, local_target, ray_target

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="Store URL (default: $KERNELWRIGHT_DB, else sqlite:///store.db).", show_default=False
    ),
]


def with_run_options(command: Callable[..., None]) -> Callable[..., None]:
    """`command` with every RunOptions field as a flag of its own (the field's description is the
    help); the command receives them as one `options: RunOptions` argument, validated by that class."""
    own = [p for p in inspect.signature(command, eval_str=True).parameters.values() if p.name != "options"]
    params = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for p in own]
    schema = RunOptions.model_json_schema()["properties"]
    params += [_flag(name, field, schema[name]) for name, field in RunOptions.model_fields.items()]

    def run(**values: Any) -> None:
        chosen = {name: values.pop(name) for name in RunOptions.model_fields}
        try:
            options = RunOptions.model_validate(chosen)
        except ValidationError as err:
            problem = err.errors()[0]
            raise ConfigError(f"--{problem['loc'][0]}: {problem['msg']}.".replace("_", "-")) from None
        command(**values, options=options)

    run.__name__, run.__qualname__, run.__doc__ = command.__name__, command.__qualname__, command.__doc__
    run.__module__ = command.__module__
    run.__signature__ = inspect.Signature(params, return_annotation=None)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in params}
    return run


def _flag(name: str, field: FieldInfo, schema: dict[str, Any]) -> inspect.Parameter:
    """The typer option of one RunOptions field: `--name` (`--name/--no-name` for a flag that is on
    by default), its description as help, its lower bound as click's `min`."""
    flag = "--" + name.replace("_", "-")
    if field.annotation is bool and field.default is True:
        flag = f"{flag}/--no-{name.replace('_', '-')}"
    option = typer.Option(flag, help=field.description, min=schema.get("minimum"))
    return inspect.Parameter(
        name,
        inspect.Parameter.KEYWORD_ONLY,
        default=field.default,
        annotation=Annotated[field.annotation, option],
    )


def choose_target(
    options: RunOptions, *, command: str, instead: str, gpus: str = "0", ray: str | None = None
) -> Target:
    """Where `command`'s candidates are judged: compile-only on the CPU, a Ray cluster, or the local
    GPUs `gpus` names (NoGPUError, saying what to do `instead`, when none is usable)."""
    if options.device == "cpu":
        if options.compile_only or ray is not None:
            raise ConfigError("--device cpu runs candidates on this machine; drop --compile-only and --ray.")
        return cpu_target(allow_torch=options.allow_torch)
    if options.compile_only:
        return compile_only_target(options.arch)
    if ray is not None:
        target = ray_target(ray, options.arch)
    else:
        require_gpu(f"`kernelwright {command}`", instead)
        target = local_target(gpus, options.arch)
    return target.model_copy(update={"allow_torch": options.allow_torch})


def task_for_target(task: Task, target: Target) -> Task:
    """The task as `target` runs it: on the CPU, its CPU-sized variant (`<name>@cpu`)."""
    if target.device != "cpu":
        return task
    from kernelwright.kernelbench.cpu_variant import cpu_variant

    return cpu_variant(task)
