"""Suites of tasks: a folder in KernelBench layout (levelN/ID_Name.py), the bundled one included.

Listing a suite never stops at a bad file: each malformed file becomes one error line and the rest
still loads. Finding a task by name looks at file names only, then loads just that file.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel, Field

from kernelwright.contracts import Task
from kernelwright.errors import TaskError
from kernelwright.kernelbench.loader import LEVEL_DIR as _LEVEL_DIR
from kernelwright.kernelbench.loader import level_of, load_task, task_id_of

_SKIPPED_DIRS = {"__pycache__", ".git", ".venv", "node_modules"}


class SuiteListing(BaseModel):
    """What listing a suite found: the tasks that loaded and one line per file that did not."""

    root: str = Field(description="The folder that was listed.")
    tasks: list[Task] = Field(default_factory=list)
    errors: list[str] = Field(default_factory=list, description="One 'path: problem' line per bad file.")


def bundled_suite_dir() -> Path:
    """The suite shipped with kernelwright (level1..level3 under this package)."""
    return Path(__file__).resolve().parent


def _is_task_file(path: Path) -> bool:
    return path.suffix == ".py" and not path.name.startswith(("_", "."))


def _level_dirs(root: Path, depth: int = 3) -> list[Path]:
    """levelN folders at or below root (a KernelBench checkout keeps them two levels down)."""
    if _LEVEL_DIR.match(root.name):
        return [root]
    found: list[Path] = []
    frontier = [root]
    for _ in range(depth):
        next_frontier: list[Path] = []
        for folder in frontier:
            for child in sorted(folder.iterdir()):
                if not child.is_dir() or child.name in _SKIPPED_DIRS or child.name.startswith("."):
                    continue
                if _LEVEL_DIR.match(child.name):
                    found.append(child)
                else:
                    next_frontier.append(child)
        frontier = next_frontier
    return found


def task_files(root: str | Path, level: int | None = None) -> list[Path]:
    """Task files of a suite, sorted by (level, id, name). Without levelN folders: root's own *.py."""
    root = Path(root)
    if not root.exists():
        raise TaskError(f"{root}: no such folder")
    if not root.is_dir():
        raise TaskError(f"{root}: is a file, not a suite folder (use `tasks show {root}`)")
    levels = _level_dirs(root)
    folders = levels if levels else [root]
    files = [p for folder in folders for p in folder.iterdir() if p.is_file() and _is_task_file(p)]
    if level is not None:
        files = [p for p in files if level_of(p) == level]

    def order(path: Path) -> tuple[int, int, str]:
        task_id = task_id_of(path)
        return (level_of(path), task_id if task_id is not None else 1 << 30, path.name)

    return sorted(files, key=order)


def load_suite(root: str | Path | None = None, level: int | None = None) -> SuiteListing:
    """Loads every task of a suite folder (default: the bundled suite), collecting bad files as lines."""
    root = Path(root) if root is not None else bundled_suite_dir()
    listing = SuiteListing(root=str(root))
    for path in task_files(root, level):
        try:
            listing.tasks.append(load_task(path))
        except TaskError as err:
            listing.errors.append(str(err))
    return listing


def _suite_key(path: Path) -> str:
    level = level_of(path)
    return f"level{level}/{path.stem}" if level else path.stem


def _name_without_id(stem: str) -> str:
    return stem.split("_", 1)[1].lower() if "_" in stem and stem.split("_", 1)[0].isdigit() else stem.lower()


def find_task(name_or_path: str, suite: str | Path | None = None) -> Task:
    """A task by file path, by suite key ('level1/19_ReLU'), by file stem ('19_ReLU'), or by the
    stem without its number ('relu') when that is unique. Unknown names list the closest matches."""
    as_path = Path(name_or_path)
    if as_path.is_file():
        return load_task(as_path)
    root = Path(suite) if suite is not None else bundled_suite_dir()
    files = task_files(root)
    wanted = name_or_path.removesuffix(".py").strip("/")
    by_key = {_suite_key(p): p for p in files}
    if wanted in by_key:
        return load_task(by_key[wanted])
    # Exact spellings first; then any case, since `relu` already matches `19_ReLU` regardless of case.
    lower = wanted.lower()
    matchers: tuple[Callable[[Path], bool], ...] = (
        lambda p: p.stem == wanted,
        lambda p: _suite_key(p).lower() == lower,
        lambda p: p.stem.lower() == lower,
        lambda p: _name_without_id(p.stem) == lower,
    )
    for matcher in matchers:
        hits = [p for p in files if matcher(p)]
        if len(hits) == 1:
            return load_task(hits[0])
        if len(hits) > 1:
            keys = ", ".join(_suite_key(p) for p in hits)
            raise TaskError(f"task name '{name_or_path}' is ambiguous in {root}: {keys}")
    if as_path.suffix == ".py":
        raise TaskError(f"{name_or_path}: no such file")
    close = _close_matches(wanted, files)
    hint = f"; did you mean {', '.join(close)}?" if close else "; `kernelwright tasks list` shows them all."
    raise TaskError(f"unknown task '{name_or_path}' (not a file, nor a task of {root}){hint}")


def _close_matches(wanted: str, files: list[Path], n: int = 3) -> list[str]:
    """Suite keys whose key, stem or stem-without-number resembles `wanted`."""
    spellings: dict[str, str] = {}
    for path in files:
        for spelling in (_suite_key(path), path.stem, _name_without_id(path.stem)):
            spellings.setdefault(spelling.lower(), _suite_key(path))
    close: list[str] = []
    for spelling in difflib.get_close_matches(wanted.lower(), list(spellings), n=3 * n, cutoff=0.6):
        if spellings[spelling] not in close:
            close.append(spellings[spelling])
    for spelling, key in spellings.items():
        if wanted.lower() in spelling and key not in close:
            close.append(key)
    return close[:n]
