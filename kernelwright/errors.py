"""Errors a user can cause. Each carries one clear sentence; only the CLI turns it into an exit code."""


class KernelwrightError(Exception):
    """Base: `str(err)` is the sentence shown to the user, `exit_code` the process status."""

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class TaskError(KernelwrightError):
    """A task file or suite cannot be loaded."""


class StoreError(KernelwrightError):
    """The store cannot be opened, migrated or written."""


class ConfigError(KernelwrightError):
    """Settings are missing or contradictory (no endpoint, no key, bad flag combination)."""


class NoGPUError(KernelwrightError):
    """The command needs an NVIDIA GPU and none is usable here."""

    exit_code = 3
