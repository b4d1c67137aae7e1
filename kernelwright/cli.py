"""The typer app. Thin: each command group lives in kernelwright/commands/ and calls a library
function; domain errors become one sentence and an exit code here, at the boundary, and nowhere else."""

from __future__ import annotations

import inspect
import shutil
import sys
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.text import Text

from kernelwright import __version__
from kernelwright.commands import analyze, batch, doctor, optimize, profile, report, selftest, tasks, verify
from kernelwright.errors import KernelwrightError

app = typer.Typer(
    name="kernelwright",
    help="LLM agents that write fast CUDA kernels, verified against a PyTorch reference.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"kernelwright {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """LLM agents that write fast CUDA kernels, verified against a PyTorch reference."""


for module in (tasks, doctor, selftest, verify, analyze, profile, optimize, batch, report):
    module.register(app)

err_console = Console(stderr=True)


def _hide_flag_metavars() -> None:
    """typer >= 0.2x prints a `<bool>` type beside every on/off flag in --help, which reads as if the
    flag took a value (and takes a column from the help texts at 80 columns); flags get no type."""
    from typer.core import TyperOption

    shown = TyperOption.display_type_rich

    def display_type_rich(self: TyperOption, ctx: Any) -> str | None:
        return None if self.is_flag else shown(self, ctx)

    TyperOption.display_type_rich = display_type_rich  # type: ignore[method-assign]


def _fold_long_help_words() -> None:
    """At 80 columns the help column of `optimize --help` is ~17 characters wide; rich ends a longer
    word ('sqlite:///store.db') in '…'. Folding it onto the next line keeps every help text whole."""
    from typer import rich_utils

    build = rich_utils._get_parameter_help

    def folded(**kwargs: Any) -> Any:
        columns = build(**kwargs)
        for item in getattr(columns, "renderables", []):
            if isinstance(item, Text):
                item.overflow = "fold"
        return columns

    rich_utils._get_parameter_help = folded


_hide_flag_metavars()
_fold_long_help_words()


# Below this width rich's help panels cut option names and texts ('--reasoning-eff…'); click's
# plain help wraps them instead, so narrow terminals and pipes (80 columns) get that.
RICH_HELP_MIN_COLUMNS = 100


def _plain_help_when_narrow(root: typer.Typer) -> None:
    if shutil.get_terminal_size().columns >= RICH_HELP_MIN_COLUMNS:
        return
    typers = [
        root,
        *(g.typer_instance for g in root.registered_groups if isinstance(g.typer_instance, typer.Typer)),
    ]
    for one in typers:
        one.rich_markup_mode = None
        # click shortens a command's summary in the listing to one line ending in '...'; a summary
        # given as short_help is wrapped instead.
        for info in one.registered_commands:
            doc = info.help or (info.callback.__doc__ if info.callback else None)
            if info.short_help is None and doc:
                info.short_help = " ".join(inspect.cleandoc(doc).split("\n\n")[0].split())


def main() -> None:
    _plain_help_when_narrow(app)
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
