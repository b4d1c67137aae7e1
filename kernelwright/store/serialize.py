"""Conversions between the contract records and table columns, and the rules about what may be
stored: no NUL characters (PostgreSQL text cannot hold them; hostile kernels can print them) and no
secrets (API keys in a run's config or in an LLM error message)."""

from __future__ import annotations

import math
import re
from typing import Any

from pydantic import BaseModel

from kernelwright.contracts import Attempt, LLMCall, Metric, Profile, Status, Task, Verdict
from kernelwright.store.models import AttemptModel, LLMCallModel, TaskModel

_SECRET_KEY = re.compile(r"(?i)(api[_-]?key|password|passwd|secret|authorization|credential)")
_SECRET_TEXT = [
    (re.compile(r"sk-[A-Za-z0-9_\-]{8,}"), "sk-***"),
    (re.compile(r"(?i)(bearer\s+)\S+"), r"\1***"),
]
_TASK_COLUMNS = {"name", "level", "task_id", "path", "source", "source_sha256", "description"}


def clean_text(text: str) -> str:
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def json_safe(value: Any) -> Any:
    """`value` (already JSON-compatible) with NUL characters replaced in every string."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def model_json(record: BaseModel) -> dict[str, Any]:
    """A record as a JSON-compatible dict with NUL characters replaced; the walk over every string
    happens only when the (fast, native) JSON dump shows there is one."""
    data = record.model_dump(mode="json")
    return json_safe(data) if "\\u0000" in record.model_dump_json() else data


def redact_config(value: Any) -> Any:
    """A run config with the values of secret-looking keys replaced by '***'."""
    if isinstance(value, dict):
        return {
            k: "***" if _SECRET_KEY.search(str(k)) and isinstance(v, str) and v else redact_config(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact_config(v) for v in value]
    return value


def redact_text(text: str | None) -> str | None:
    if text is None:
        return None
    for pattern, replacement in _SECRET_TEXT:
        text = pattern.sub(replacement, text)
    return clean_text(text)


def stub_task_values(key: str) -> dict[str, Any]:
    """Columns for a task known only by its key ('level1/19_ReLU'); add_task fills in the rest."""
    folder, _, name = key.rpartition("/")
    level_digits = folder.removeprefix("level")
    return {
        "key": key,
        "name": name or key,
        "level": int(level_digits) if level_digits.isdigit() else 0,
        "task_id": None,
        "path": "",
        "source": "",
        "source_sha256": "",
        "description": "",
        "spec": {},
    }


def task_values(task: Task) -> dict[str, Any]:
    data = model_json(task)
    columns = {k: data.pop(k) for k in _TASK_COLUMNS}
    data.pop("key", None)
    return {"key": task.key, **columns, "spec": data}


def task_from_row(row: TaskModel) -> Task:
    return Task(
        name=row.name,
        level=row.level,
        task_id=row.task_id,
        path=row.path,
        source=row.source,
        source_sha256=row.source_sha256,
        description=row.description,
        **row.spec,
    )


def measured_median_ms(verdict: Verdict) -> float | None:
    """The candidate's median time, or None when it was not measured or is not a usable number."""
    timing = verdict.candidate_timing
    if timing is None or not math.isfinite(timing.median_ms) or timing.median_ms <= 0:
        return None
    return timing.median_ms


def qualifies_for_best(verdict: Verdict) -> bool:
    """Only a verified-correct verdict with a measured time; 'suspicious' waits for re-verification,
    and a compile-only 'ok' was never run."""
    return verdict.status == Status.ok and measured_median_ms(verdict) is not None


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def attempt_values(attempt: Attempt, task_id: int) -> dict[str, Any]:
    verdict = attempt.verdict
    values = {
        "run_id": attempt.run_id,
        "task_id": task_id,
        "round": attempt.round,
        "candidate_index": attempt.candidate_index,
        "mode": attempt.mode,
        "parent_attempt_id": attempt.parent_attempt_id,
        "code": clean_text(attempt.code),
        "status": verdict.status.value,
        "message": clean_text(verdict.message),
        "verdict": model_json(verdict),
        "profile": model_json(attempt.profile) if attempt.profile else None,
        "speedup_vs_eager": _finite(verdict.speedup_vs_eager),
        "speedup_vs_compiled": _finite(verdict.speedup_vs_compiled),
        "candidate_median_ms": measured_median_ms(verdict),
        "gpu_name": attempt.gpu_name,
        "created_at": attempt.created_at,
    }
    # Only when known: a row without them stays writable by a store still at revision 0003 or older.
    for name in ("idea", "analysis"):
        value = getattr(attempt, name)
        if value is not None:
            values[name] = clean_text(value)
    return values


def attempt_from_row(row: AttemptModel, task_key: str) -> Attempt:
    return Attempt(
        run_id=row.run_id,
        task_key=task_key,
        round=row.round,
        candidate_index=row.candidate_index,
        mode=row.mode,
        parent_attempt_id=row.parent_attempt_id,
        code=row.code,
        verdict=Verdict.model_validate(row.verdict),
        profile=Profile.model_validate(row.profile) if row.profile is not None else None,
        gpu_name=row.gpu_name,
        created_at=row.created_at,
        idea=row.idea,
        analysis=row.analysis,
    )


def llm_call_values(call: LLMCall) -> dict[str, Any]:
    values = {
        "run_id": call.run_id,
        "role": call.role,
        "model": call.model,
        "prompt": clean_text(call.prompt),
        "response": clean_text(call.response) if call.response is not None else None,
        "tokens_in": call.tokens_in,
        "tokens_out": call.tokens_out,
        "latency_s": call.latency_s,
        "cost_usd": call.cost_usd,
        "error": redact_text(call.error),
        "created_at": call.created_at,
    }
    # Only when known: a row without one stays writable by a store still at revision 0002 or older.
    if call.finish_reason is not None:
        values["finish_reason"] = call.finish_reason
    return values


def llm_call_from_row(row: LLMCallModel) -> LLMCall:
    return LLMCall(
        run_id=row.run_id,
        role=row.role,
        model=row.model,
        prompt=row.prompt,
        response=row.response,
        tokens_in=row.tokens_in,
        tokens_out=row.tokens_out,
        latency_s=row.latency_s,
        cost_usd=row.cost_usd,
        error=row.error,
        created_at=row.created_at,
        finish_reason=row.finish_reason,
    )


def metric_values(attempt_id: int, metric: Metric) -> dict[str, Any]:
    return {
        "attempt_id": attempt_id,
        "source": metric.source,
        "name": clean_text(metric.name),
        "value": metric.value,
        "unit": clean_text(metric.unit),
        "kernel": clean_text(metric.kernel) if metric.kernel is not None else None,
    }
