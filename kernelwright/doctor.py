"""What this machine has for kernelwright, and what `optimize` would still need.

Every probe comes from the stage that owns it (NVML and ncu from the profiler, NVRTC and nvcc from
the sandbox, LLM settings from the agents, the store URL from the store) and none of them raises:
the doctor reports what it finds. It never initialises CUDA, never opens the store and never shows
an API key, only whether one is set. The sandbox's OS walls are tried in a throwaway child process.
A configured LLM endpoint gets one cheap call (a one-token completion) unless `offline`.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict
from typing import Any, TypeVar

from pydantic import BaseModel, Field

from kernelwright.agents.endpoint_probe import EndpointCheck
from kernelwright.contracts import GPUIdentity

T = TypeVar("T")


class NcuInfo(BaseModel):
    path: str | None = None
    counters_readable: bool | None = None
    message: str = ""


class IsolationInfo(BaseModel):
    """The kernel walls a runner gets here (no_new_privs, network namespace, Landlock, seccomp)."""

    active: list[str] = Field(default_factory=list)
    unavailable: dict[str, str] = Field(default_factory=dict, description="Wall -> why it is missing.")
    details: dict[str, str] = Field(default_factory=dict)


class DoctorReport(BaseModel):
    """Everything the doctor found; `missing` holds one sentence per piece `optimize` needs."""

    python: str
    platform: str
    torch: str | None = Field(None, description="torch version, None when torch cannot be imported.")
    torch_cuda: str | None = Field(None, description="CUDA version torch was built with; None: CPU build.")
    gpus: list[GPUIdentity] = Field(default_factory=list)
    nvcc: str | None = None
    nvrtc: str | None = None
    loaders: dict[str, str | None] = Field(
        default_factory=dict,
        description="Native-candidate loader -> None when installed, else why not (--loader NAME).",
    )
    ncu: NcuInfo = Field(default_factory=NcuInfo)
    isolation: IsolationInfo = Field(
        default_factory=IsolationInfo,
        description="Optional hardening: a missing wall is reported, never counted as missing.",
    )
    llm: dict[str, Any] = Field(
        default_factory=dict, description="Per-role settings; keys only as set/unset."
    )
    endpoints: list[EndpointCheck] = Field(
        default_factory=list, description="What each LLM endpoint answered (none when --offline)."
    )
    db_url: str = Field("", description="Store URL with the password hidden.")
    missing: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list, description="Optional pieces that are absent.")

    @property
    def ready(self) -> bool:
        """Whether `optimize` could run here."""
        return not self.missing


def _probe(what: str, fn: Callable[[], T], default: T, problems: list[str]) -> T:
    """Runs one probe; a probe that breaks is reported as such instead of stopping the doctor."""
    try:
        return fn()
    except Exception as err:  # a broken probe is a finding, not a crash
        problems.append(f"could not check {what}: {type(err).__name__}: {err}".splitlines()[0])
        return default


def _torch_versions() -> tuple[str | None, str | None]:
    try:
        import torch
    except ImportError:
        return None, None
    return torch.__version__, torch.version.cuda


def _ncu_info() -> NcuInfo:
    from kernelwright.profiler.ncu import ncu_status

    status = ncu_status()
    return NcuInfo(path=status.path, counters_readable=status.counters_readable, message=status.message)


def _isolation() -> IsolationInfo:
    """What the sandbox walls' probe finds; even a broken probe only reports, never fails the doctor."""
    from kernelwright.sandbox.isolation import walls

    try:
        report = walls.probe()
    except Exception as err:  # a machine without walls still runs candidates, behind the audit hooks
        why = f"the probe failed: {type(err).__name__}: {err}".splitlines()[0]
        return IsolationInfo(unavailable=dict.fromkeys(walls.WALL_NAMES, why))
    return IsolationInfo(**asdict(report))


def _llm(env: Mapping[str, str] | None) -> tuple[dict[str, Any], list[str]]:
    from kernelwright.agents.config import LLMConfig

    config = LLMConfig.from_env(env)
    return config.describe(), config.missing()


def check_endpoints(env: Mapping[str, str] | None) -> list[EndpointCheck]:
    """One call per distinct (base URL, model): the Coder and Judge often share both."""
    from kernelwright.agents.config import ROLES, LLMConfig, Role
    from kernelwright.agents.endpoint_probe import probe_endpoint

    config = LLMConfig.from_env(env)
    if config.missing():
        return []
    by_endpoint: dict[tuple[str, str], list[Role]] = {}
    for role in ROLES:
        rc = config.for_role(role)
        by_endpoint.setdefault((rc.base_url or "", rc.model or ""), []).append(role)
    return [probe_endpoint(config.for_role(roles[0]), roles) for roles in by_endpoint.values()]


def diagnose(
    db: str | None = None, env: Mapping[str, str] | None = None, *, offline: bool = False
) -> DoctorReport:
    """Probes the machine and the settings. `db` is the --db option; `env` defaults to os.environ;
    `offline` skips the call to the LLM endpoint."""
    from kernelwright.gpu.nvml import list_gpus
    from kernelwright.sandbox.build.compile import nvcc_version, nvrtc_version
    from kernelwright.store.engine import display_url

    problems: list[str] = []
    no_torch: tuple[str | None, str | None] = (None, None)
    unreadable: tuple[dict[str, Any], list[str]] = ({}, ["settings unreadable"])
    torch_version, torch_cuda = _probe("torch", _torch_versions, no_torch, problems)
    llm, llm_missing = _probe("the LLM settings", lambda: _llm(env), unreadable, problems)
    report = DoctorReport(
        python=sys.version.split()[0],
        platform=f"{platform.system()} {platform.machine()}",
        torch=torch_version,
        torch_cuda=torch_cuda,
        gpus=_probe("NVML", list_gpus, list[GPUIdentity](), problems),
        nvcc=_probe("nvcc", nvcc_version, None, problems),
        nvrtc=_probe("NVRTC", nvrtc_version, None, problems),
        loaders=_probe("the loaders", _loaders, dict[str, str | None](), problems),
        ncu=_probe("ncu", _ncu_info, NcuInfo(message="unknown"), problems),
        isolation=_isolation(),
        llm=llm,
        db_url=display_url(_db_url(db, env)),
    )
    if not offline:
        report.endpoints = _probe("the LLM endpoint", lambda: check_endpoints(env), [], problems)
    store_problem = store_url_problem(_db_url(db, env))
    report.missing = (
        missing_pieces(report, llm_missing)
        + [e.problem for e in report.endpoints if e.problem]
        + ([store_problem] if store_problem else [])
        + problems
    )
    report.notes = optional_notes(report)
    return report


def _loaders() -> dict[str, str | None]:
    from kernelwright.sandbox.loaders import LOADER_NAMES, missing_reason

    return {name: missing_reason(name) for name in LOADER_NAMES}


def _db_url(db: str | None, env: Mapping[str, str] | None) -> str:
    from kernelwright.store.engine import DEFAULT_URL, ENV_VAR

    env = os.environ if env is None else env
    return db or env.get(ENV_VAR) or DEFAULT_URL


def store_url_problem(url: str) -> str | None:
    """Why the store URL cannot work, read without connecting: unparseable, or no dialect/driver."""
    from sqlalchemy.engine import make_url

    from kernelwright.store.engine import display_url

    shown = display_url(url)
    try:
        make_url(url).get_dialect().import_dbapi()
    except ImportError as err:
        return f"The store URL {shown} needs a database driver that is not installed ({err})."
    except Exception:
        return (
            f"The store URL {shown} is not a SQLAlchemy URL with a known database (e.g. sqlite:///store.db)."
        )
    return None


def missing_pieces(report: DoctorReport, llm_missing: list[str]) -> list[str]:
    """One sentence per thing `optimize` cannot run without."""
    missing = []
    if not report.gpus:
        missing.append(
            "No NVIDIA GPU is visible: NVML found no device (no driver, or no GPU on this machine); "
            "`optimize --compile-only` still runs the agents here, compiling candidates on the CPU, and "
            "`optimize --device cpu --allow-torch` runs the whole loop on CPU-sized tasks."
        )
    elif report.torch is not None and report.torch_cuda is None:
        missing.append(f"torch {report.torch} is a CPU-only build: install a CUDA build of torch.")
    if report.torch is None:
        missing.append("torch cannot be imported: install torch (pip install torch).")
    if report.nvrtc is None:
        missing.append(
            "NVRTC cannot be loaded: install kernelwright[cuda13] (or [cuda12] for a CUDA 12 driver)."
        )
    if report.loaders and all(why is not None for why in report.loaders.values()):
        missing.append(
            "No loader can launch native candidates: install kernelwright[cuda13] (cuda-python and cupy)."
        )
    if llm_missing:
        missing.append(
            f"The LLM endpoint is not fully configured (missing: {', '.join(llm_missing)}): set "
            "OPENAI_BASE_URL, OPENAI_API_KEY and KERNELWRIGHT_MODEL."
        )
    return missing


def optional_notes(report: DoctorReport) -> list[str]:
    """Absent pieces that only degrade a run (no counters in the profile, no compat build path)."""
    notes = []
    if report.ncu.path is None or report.ncu.counters_readable is False:
        notes.append("Without a usable ncu, profiles hold static (cubin) and NVML figures only.")
    if report.nvcc is None:
        notes.append("nvcc not found: compat (load_inline) candidates cannot be built; native ones can.")
    return notes
