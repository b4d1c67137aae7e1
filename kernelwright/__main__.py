"""`python -m kernelwright` runs the CLI (used where the console script is not on PATH)."""

from kernelwright.cli import main

main()
