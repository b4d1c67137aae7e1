"""The typer app. Thin: each command group lives in kernelwright/commands/ and calls a library
function; domain errors become one sentence and an exit code here, at the boundary, and nowhere else."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from kernelwright.commands import analyze, batch, doctor, optimize, profile, report, tasks, verify
from kernelwright.errors import KernelwrightError

app = typer.Typer(
    name="kernelwright",
    help="LLM agents that write fast CUDA kernels, verified against a PyTorch reference.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for module in (tasks, doctor, verify, analyze, profile, optimize, batch, report):
    module.register(app)

err_console = Console(stderr=True)


def main() -> None:
    try:
        # Without standalone mode click returns (not raises) the code of a `typer.Exit(code)`.
        code = app(standalone_mode=False)
        if isinstance(code, int) and code:
            sys.exit(code)
    except KernelwrightError as err:
        err_console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(err.exit_code)
    except typer.Abort:
        err_console.print("aborted.")
        sys.exit(130)
    except KeyboardInterrupt:
        err_console.print("interrupted.")
        sys.exit(130)
    except typer.Exit as exit_:
        sys.exit(exit_.exit_code)
    except Exception as err:  # click usage errors arrive here when standalone_mode is off
        import click
        from typer.exceptions import TyperException

        # typer >= 0.20 vendors click: its usage errors are typer._click's ClickException, which is a
        # TyperException (with show/exit_code), not a click.ClickException.
        if isinstance(err, click.ClickException) or (
            isinstance(err, TyperException) and hasattr(err, "show")
        ):
            err.show()
            sys.exit(err.exit_code)
        raise


if __name__ == "__main__":
    main()
