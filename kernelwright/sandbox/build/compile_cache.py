"""On-disk cache of successful compiles, so that a repeated candidate costs a file read, not a compile.

Keyed by sha256 of (source, arch, options, backend, compiler version): a new NVRTC or nvcc release
never serves a stale cubin. Entries are written to a temporary name and renamed, so parallel workers
sharing the folder never read half an entry.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

CACHE_ENV = "KERNELWRIGHT_CACHE_DIR"


def cache_dir() -> Path:
    """`$KERNELWRIGHT_CACHE_DIR`, else `$XDG_CACHE_HOME/kernelwright/cubin`, else ~/.cache/..."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kernelwright" / "cubin"


def cache_key(source: str, arch: str, options: Sequence[str], backend: str, version: str | None) -> str:
    material = json.dumps([source, arch, list(options), backend, version], separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


def load(key: str) -> tuple[bytes, dict[str, Any]] | None:
    """The cubin and metadata stored under `key`, or None when absent or unreadable."""
    folder = cache_dir()
    try:
        meta = json.loads((folder / f"{key}.json").read_text())
        cubin = (folder / f"{key}.cubin").read_bytes()
    except (OSError, ValueError):
        return None
    if len(cubin) != meta.get("cubin_bytes"):
        return None  # torn or foreign entry: recompile rather than trust it
    return cubin, meta


def store(key: str, cubin: bytes, meta: dict[str, Any]) -> None:
    """Writes an entry; a read-only or full disk only loses the cache, never the compile result."""
    folder = cache_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        _atomic_write(folder / f"{key}.cubin", cubin)
        _atomic_write(folder / f"{key}.json", json.dumps({**meta, "cubin_bytes": len(cubin)}).encode())
    except OSError:
        return


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
