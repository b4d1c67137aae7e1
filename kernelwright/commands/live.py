"""Rich's Live view for the commands, ending its last frame with a newline when output is piped."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console, RenderableType
from rich.live import Live


@contextmanager
def live_view(renderable: RenderableType, console: Console, *, refresh_per_second: float) -> Iterator[Live]:
    """`Live(renderable)`. In a pipe or file Live writes only its last frame, and without a line end,
    so whatever follows would start on the table's last line (`└──┘batch run 1`)."""
    try:
        with Live(
            renderable, console=console, refresh_per_second=refresh_per_second, transient=False
        ) as shown:
            yield shown
    finally:
        if not console.is_terminal:
            console.line()
