"""CLI options that several commands share, declared once so their flags and help stay the same."""

from __future__ import annotations

from typing import Annotated

import typer

DbOption = Annotated[
    str | None,
    typer.Option(
        "--db", help="Store URL (default: $KERNELWRIGHT_DB, else sqlite:///store.db).", show_default=False
    ),
]
ModelOption = Annotated[str | None, typer.Option(help="Model for both roles (else KERNELWRIGHT_MODEL).")]
CoderModelOption = Annotated[str | None, typer.Option(help="Model of the Coder.")]
JudgeModelOption = Annotated[str | None, typer.Option(help="Model of the Judge.")]
BaseUrlOption = Annotated[str | None, typer.Option(help="OpenAI-compatible endpoint for both roles.")]
TemperatureOption = Annotated[float | None, typer.Option(help="Sampling temperature for both roles.")]
ReasoningEffortOption = Annotated[
    str | None, typer.Option(help="Reasoning effort (low/medium/high) for reasoning models, both roles.")
]
RoundsOption = Annotated[int, typer.Option(min=1, help="Rounds of Judge + Coder (per task).")]
CandidatesOption = Annotated[int, typer.Option(min=1, help="Candidates per round, written in parallel.")]
PatienceOption = Annotated[
    int, typer.Option(min=1, help="Stop after this many rounds without a faster kernel.")
]
MaxUsdOption = Annotated[float | None, typer.Option(help="Dollar budget for LLM calls (per task).")]
MaxTokensOption = Annotated[int | None, typer.Option(help="Token budget, in + out (per task).")]
ArchOption = Annotated[str, typer.Option(help="Target architecture for --compile-only.")]
ProfileOption = Annotated[
    bool,
    typer.Option("--profile/--no-profile", help="Profile correct candidates (ncu, NVML) for the Judge."),
]
