"""Output paths checked before a command does any work: a run must not spend its LLM budget and then
fail to write its result, so `--out`, `--html` and the like are made (and probed) up front."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from kernelwright.errors import ConfigError


def writable_folder(folder: str | Path, flag: str) -> Path:
    """`folder` after a probe file was written and removed there; otherwise a ConfigError naming
    `flag` (exit 2). Probing is the only reliable test: os.access says yes to root in /proc and on
    read-only mounts. Folders made for the probe are removed again, so a command that fails later
    (an unknown task, say) leaves nothing behind."""
    path = Path(folder).expanduser()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{flag} '{folder}' is a file; give a folder.")
    made = [p for p in (path, *path.parents) if not p.exists()]
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".kernelwright-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise ConfigError(f"{flag} '{folder}' cannot be written: {err.strerror or err}.") from None
    finally:
        for created in made:  # deepest first
            with contextlib.suppress(OSError):
                created.rmdir()
    return path


def writable_file(file: str | Path, flag: str) -> Path:
    """`file`, whose folder was made writable (see writable_folder), that is not a folder itself and,
    if it exists, may be overwritten; otherwise a ConfigError naming `flag` (exit 2)."""
    path = Path(file).expanduser()
    if path.is_dir():
        raise ConfigError(f"{flag} '{file}' is a folder; give a file name.")
    writable_folder(path.parent, flag)
    if path.exists() and not os.access(path, os.W_OK):
        raise ConfigError(f"{flag} '{file}' cannot be overwritten: permission denied.")
    return path
