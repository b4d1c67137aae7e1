"""PEP 578 audit hooks in the worker child: the dynamic counterpart of the static guard.

An audit hook cannot be removed once added, and CPython raises its events from C for sockets,
process creation, signals, file opens, gc and frame access. The hook blocks such an event (raises
PermissionError) when candidate code initiated it, and records the violation, so that a candidate
that swallows the exception is still rejected with the rule.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

NETWORK_EVENTS = frozenset(
    {"socket.connect", "socket.bind", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo"}
)
PROCESS_EVENTS = frozenset(
    {
        "os.fork",
        "os.forkpty",
        "os.posix_spawn",
        "os.spawn",
        "os.exec",
        "os.system",
        "subprocess.Popen",
        "pty.spawn",
    }
)
KILL_EVENTS = frozenset({"os.kill", "os.killpg", "signal.pthread_kill"})
WRITE_PATH_EVENTS = frozenset(
    {
        "os.remove",
        "os.rmdir",
        "os.rename",
        "os.truncate",
        "os.chmod",
        "os.chown",
        "os.mkdir",
        "os.symlink",
        "os.link",
        "os.utime",
        "shutil.rmtree",
        "shutil.move",
        "shutil.copyfile",
        "os.removexattr",
        "os.setxattr",
    }
)
INTROSPECTION_EVENTS = frozenset(
    {
        "gc.get_objects",
        "gc.get_referrers",
        "gc.get_referents",
        "sys._getframe",
        "sys._current_frames",
        "sys.setprofile",
        "sys.settrace",
        "object.__getattr__",
    }
)
CTYPES_EVENTS = frozenset(
    {
        "ctypes.dlopen",
        "ctypes.dlsym",
        "ctypes.string_at",
        "ctypes.wstring_at",
        "ctypes.addressof",
        "ctypes.cdata",
        "ctypes.call_function",
    }
)
ALL_EVENTS = (
    NETWORK_EVENTS | PROCESS_EVENTS | KILL_EVENTS | WRITE_PATH_EVENTS | INTROSPECTION_EVENTS | CTYPES_EVENTS
)
# Every audited event in the process passes through the hook, launches included: one set lookup
# sends the uninteresting ones back before anything else runs.
_WATCHED = ALL_EVENTS | {"open", "socket.__new__"}
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC
_INET = {int(socket.AF_INET), int(socket.AF_INET6)}


@dataclass
class Violation:
    rule: str
    message: str


@dataclass
class AuditGuard:
    """Decides, per audited event, whether candidate code asked for it and whether that is allowed."""

    candidate_file: str
    allowed_write_dirs: list[str]
    # Code allowed to start processes on the candidate's behalf (a load_inline build runs ninja).
    trusted_spawners: tuple[str, ...] = ()
    home_dir: str = field(default_factory=lambda: os.path.realpath(Path.home()))
    # The interpreter, its packages and the import path stay readable even inside the home folder.
    readable_prefixes: tuple[str, ...] = field(default_factory=lambda: _readable_prefixes())
    violations: list[Violation] = field(default_factory=list)
    _busy: threading.local = field(default_factory=threading.local)

    def hook(self, event: str, args: tuple[object, ...]) -> None:
        if event not in _WATCHED:
            return
        if getattr(self._busy, "on", False):
            return  # the hook's own frame walk raises sys._getframe events
        self._busy.on = True
        try:
            violation = self._judge(event, args)
        finally:
            self._busy.on = False
        if violation is not None:
            self.violations.append(violation)
            raise PermissionError(f"kernelwright sandbox: {violation.message}")

    def _judge(self, event: str, args: tuple[object, ...]) -> Violation | None:
        if event == "open":
            return self._judge_open(args)
        if event in WRITE_PATH_EVENTS:
            path = args[0] if args else None
            if (
                isinstance(path, str | bytes | os.PathLike)
                and not self._write_allowed(path)
                and self._from_candidate()
            ):
                return Violation(
                    "sandbox-write", f"{event} on {os.fsdecode(path)}: writing outside the working directory"
                )
            return None
        if event == "socket.__new__":
            family = args[1] if len(args) > 1 else None
            if isinstance(family, int) and family in _INET and self._from_candidate():
                return Violation("sandbox-network", "opening a network socket")
            return None
        if event in NETWORK_EVENTS:
            return (
                Violation("sandbox-network", f"{event}: network access") if self._from_candidate() else None
            )
        if event in PROCESS_EVENTS:
            decided_by = self._first_on_stack(self.trusted_spawners)
            if decided_by == self.candidate_file:
                return Violation("sandbox-process", f"{event}: starting a process")
            if decided_by is not None and decided_by.endswith(PYCUDA_COMPILER):
                problem = nvcc_call_problem(event, args)
                return Violation("sandbox-process", f"{event}: {problem}") if problem else None
            return None
        if event in KILL_EVENTS:
            return self._judge_kill(event, args)
        if event in CTYPES_EVENTS:
            return (
                Violation("sandbox-ctypes", f"{event}: raw memory or library access")
                if self._direct()
                else None
            )
        if event == "object.__getattr__" and (
            len(args) < 2
            or args[1] not in ("tb_frame", "f_back", "gi_frame", "cr_frame", "ag_frame", "f_locals")
        ):
            return None
        return (
            Violation("introspection", f"{event}: reaching other code's objects or frames")
            if self._direct()
            else None
        )

    def _judge_open(self, args: tuple[object, ...]) -> Violation | None:
        path, mode, flags = (list(args) + [None, None, None])[:3]
        writes = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
            isinstance(flags, int) and flags & _WRITE_FLAGS
        )
        if not isinstance(path, str | bytes | os.PathLike):
            return None  # an already open descriptor
        if not writes:
            if self._read_forbidden(path) and self._from_candidate():
                return Violation(
                    "sandbox-read", f"reading {os.fsdecode(path)}: other processes' data or home files"
                )
            return None
        if self._write_allowed(path):
            return None
        if self._from_candidate():
            return Violation(
                "sandbox-write", f"opening {os.fsdecode(path)} for writing, outside the working directory"
            )
        return None

    def _judge_kill(self, event: str, args: tuple[object, ...]) -> Violation | None:
        target = args[0] if args else None
        own = {os.getpid(), os.getpgrp(), 0}
        if event == "signal.pthread_kill" or target in own:
            return None
        if self._from_candidate():
            return Violation("sandbox-kill", f"{event} on process {target}: signalling another process")
        return None

    def _read_forbidden(self, path: str | bytes | os.PathLike[str]) -> bool:
        """Other processes' /proc entries (the CLI's environment holds the API keys) and the home
        directory (credentials), except the caches and the Python installation."""
        text = os.path.realpath(os.fsdecode(path))
        parts = text.split("/")
        if len(parts) > 2 and parts[1] == "proc" and parts[2].isdigit():
            return int(parts[2]) != os.getpid()
        home = self.home_dir.rstrip("/") + "/"
        if not text.startswith(home) or text.startswith(self.readable_prefixes):
            return False
        return not self._write_allowed(text)

    def _write_allowed(self, path: str | bytes | os.PathLike[str]) -> bool:
        text = os.path.realpath(os.fsdecode(path))
        if text in (os.devnull,):
            return True
        return any(text == d or text.startswith(d.rstrip("/") + "/") for d in self.allowed_write_dirs)

    def _from_candidate(self, stop_at: tuple[str, ...] = ()) -> bool:
        """True when candidate code is on the stack (and no trusted spawner sits below it)."""
        return self._first_on_stack(stop_at) == self.candidate_file

    def _first_on_stack(self, stop_at: tuple[str, ...]) -> str | None:
        """The innermost frame's file that is the candidate's or a trusted spawner's, else None."""
        frame = _caller_frame()
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename == self.candidate_file or (stop_at and filename.startswith(stop_at)):
                return filename
            frame = frame.f_back
        return None

    def _direct(self) -> bool:
        """True when the candidate itself (or inspect/gc wrappers it called) raised the event."""
        frame = _caller_frame()
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename == self.candidate_file:
                return True
            if not (
                filename.endswith(("inspect.py", "traceback.py", "ctypes/__init__.py"))
                or filename.startswith("<")
            ):
                return False
            frame = frame.f_back
        return False


def _readable_prefixes() -> tuple[str, ...]:
    roots = {sys.prefix, sys.base_prefix, sys.exec_prefix, *[p for p in sys.path if p]}
    return tuple(os.path.realpath(r).rstrip("/") + "/" for r in roots if os.path.isabs(r))


def _caller_frame() -> FrameType | None:
    """The innermost frame outside this module: whoever raised the audited event."""
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and frame.f_code.co_filename == __file__:
        frame = frame.f_back
    return frame


def default_write_dirs(workdir: str) -> list[str]:
    """The working directory and the build caches that legitimately receive files."""
    home = Path.home()
    cache = Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache")
    dirs = [
        workdir,
        os.environ.get("KERNELWRIGHT_CACHE_DIR") or str(cache / "kernelwright"),
        os.environ.get("TORCH_EXTENSIONS_DIR") or str(cache / "torch_extensions"),
        os.environ.get("CUPY_CACHE_DIR") or str(home / ".cupy"),
        os.environ.get("TRITON_CACHE_DIR") or str(home / ".triton"),
        "/dev/shm",
    ]
    return [os.path.realpath(d) for d in dirs]


PYCUDA_COMPILER = os.path.join("pycuda", "compiler.py")
# nvcc flags that run or read what the caller names: a host compiler, options files, include paths,
# pre-included headers, and --run (nvcc executes the program it built). pycuda adds only its own
# header folder (-I inside the pycuda package).
_NVCC_STEERING = ("-ccbin", "--compiler-bindir", "-Xcompiler", "--compiler-options", "--options-file",
                  "-optf", "--pre-include", "-include", "--input-drive-prefix", "-idp", "-I",
                  "--include-path", "-isystem", "--system-include", "-Xlinker", "--linker-options",
                  "--run", "-run", "--run-args", "-run-args")  # fmt: skip
_NVCC_ENV = ("NVCC_PREPEND_FLAGS", "NVCC_APPEND_FLAGS", "NVCC_CCBIN")


def nvcc_call_problem(event: str, args: tuple[object, ...]) -> str | None:
    """Why a process pycuda's compiler starts is not a plain nvcc compile, or None when it is: pycuda
    is trusted to run nvcc, not whatever program or host compiler a candidate's options name."""
    env: object = None
    if event == "subprocess.Popen" and len(args) >= 2:
        argv = _argv(args[1])
        env = args[3] if len(args) > 3 else None
        if args[0]:
            argv = [*_argv(args[0]), *argv[1:]]
    elif event in ("os.posix_spawn", "os.exec") and len(args) >= 2:
        argv = _argv(args[1])
        env = args[2] if len(args) > 2 else None
    else:
        return f"{event} is not how pycuda runs nvcc"
    if not argv or os.path.basename(argv[0].split()[0]) != "nvcc":
        return "pycuda's compiler may start only nvcc"
    own_headers = tuple(os.path.realpath(folder) + os.sep for folder in _pycuda_folders())
    for i, arg in enumerate(argv[1:], start=1):
        flag = arg.split("=", 1)[0]
        steering = next(
            (s for s in _NVCC_STEERING if flag == s or (len(s) == 2 and flag.startswith(s))), None
        )
        if steering is None:
            continue
        path = arg[len(steering) :].lstrip("=") or (argv[i + 1] if i + 1 < len(argv) else "")
        if steering == "-I" and own_headers and os.path.realpath(path).startswith(own_headers):
            continue
        return f"nvcc option {steering} runs or reads something of the candidate's choosing"
    variables = env if isinstance(env, dict) else os.environ
    named = [v for v in _NVCC_ENV if variables.get(v)]
    return f"nvcc run with {named[0]} set" if named else None


def _argv(value: object) -> list[str]:
    if isinstance(value, str | bytes | os.PathLike):
        return [os.fsdecode(value)]
    if isinstance(value, list | tuple):
        return [os.fsdecode(a) if isinstance(a, str | bytes | os.PathLike) else str(a) for a in value]
    return []


def _pycuda_folders() -> list[str]:
    """Where the pycuda package is installed, found without importing it (none when it is not)."""
    import importlib.util

    spec = importlib.util.find_spec("pycuda")
    return list(spec.submodule_search_locations or []) if spec is not None else []


def trusted_spawners() -> tuple[str, ...]:
    """Files allowed to start processes while candidate code is on the stack: torch's extension
    builder, the sandbox, and pycuda's SourceModule compiler, which runs nvcc (located without
    importing pycuda; the static guard refuses a SourceModule that picks its own `nvcc=`)."""
    import torch.utils.cpp_extension as cpp_extension

    import kernelwright.sandbox as sandbox_pkg

    spawners = [cpp_extension.__file__, os.path.dirname(sandbox_pkg.__file__) + os.sep]
    spawners += [os.path.join(folder, "compiler.py") for folder in _pycuda_folders()]
    return tuple(spawners)


def install(candidate_file: str, workdir: str) -> AuditGuard:
    guard = AuditGuard(os.path.realpath(candidate_file), default_write_dirs(workdir), trusted_spawners())
    sys.addaudithook(guard.hook)
    return guard
