"""CLI commands of this group (filled in by its issue)."""

import typer


def register(app: typer.Typer) -> None:
    """Adds this group's commands to the root app."""
