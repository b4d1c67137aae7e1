"""Piped output keeps lines apart (issue 11, item 8): the Live view's last frame ends its line."""

from __future__ import annotations

import io

from rich.console import Console
from rich.table import Table

from kernelwright.commands.live import live_view


def test_piped_live_view_ends_with_a_newline() -> None:
    out = io.StringIO()
    console = Console(file=out, width=40)  # a file: not a terminal, as in a pipe
    assert not console.is_terminal
    progress = Table("task")
    progress.add_row("level1/19_ReLU")
    with live_view(progress, console, refresh_per_second=4):
        pass
    console.print("batch run 1")
    lines = out.getvalue().splitlines()
    assert "batch run 1" in lines
    assert lines[lines.index("batch run 1") - 1].startswith("└")
