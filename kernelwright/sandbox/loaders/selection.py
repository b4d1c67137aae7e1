"""The loader of this process, fixed once by the runner before candidate code is imported.

The first selection wins for the life of the process: a candidate that calls `select_loader`
itself (the static guard already refuses the import) gets an error unless it names the loader the
runner chose, so the verdict is always the one for the loader the user asked for. Selecting fixes
the name only; the library is imported at the first load, so a CPU run never needs it.
"""

from __future__ import annotations

import threading

from kernelwright.errors import ConfigError
from kernelwright.sandbox.loaders import DEFAULT_LOADER, LOADER_NAMES, Loader, loader_for

_lock = threading.Lock()
_chosen: list[str] = []


def select_loader(name: str) -> None:
    """Fixes this process's loader; ConfigError for an unknown name or when another one is fixed."""
    if name not in LOADER_NAMES:
        raise ConfigError(f"Unknown loader '{name}' (choose one of {', '.join(LOADER_NAMES)}).")
    with _lock:
        if _chosen and _chosen[0] != name:
            raise ConfigError(
                f"The loader is already '{_chosen[0]}' in this process; it cannot become '{name}'."
            )
        if not _chosen:
            _chosen.append(name)


def selected_loader() -> Loader:
    """The fixed loader (the default when nothing chose: CudaModule used outside the sandbox)."""
    with _lock:
        if not _chosen:
            _chosen.append(DEFAULT_LOADER)
        name = _chosen[0]
    return loader_for(name)
