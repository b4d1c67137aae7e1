"""What the agents are told about earlier attempts: Verdicts, guard findings and speedups as text."""

from __future__ import annotations

from collections.abc import Sequence

from kernelwright.contracts import Attempt, Status, Verdict

MAX_LOG_LINES = 40
MAX_HISTORY_LINES = 30


def trim_lines(text: str, limit: int = MAX_LOG_LINES) -> str:
    lines = text.strip().splitlines()
    if len(lines) <= limit:
        return "\n".join(lines)
    head = lines[: limit - 5]
    return "\n".join([*head, f"... ({len(lines) - limit + 1} more lines) ...", *lines[-4:]])


def error_summary(verdict: Verdict) -> str:
    """Status, message, failing trials and the trimmed log: what the Coder needs to repair."""
    parts = [f"Status: {verdict.status.value}." + (f" {verdict.message}" if verdict.message else "")]
    if verdict.rule:
        parts.append(f"Rule: {verdict.rule}")
    failed = [t for t in verdict.trials if not t.passed]
    for t in failed[:3]:
        parts.append(
            f"Trial {t.trial} (seed {t.seed}): {t.mismatched} of {t.numel} elements outside tolerance, "
            f"max abs error {_num(t.max_abs_error)}, max rel error {_num(t.max_rel_error)}."
        )
    if verdict.log.strip():
        parts.append("Log:\n" + trim_lines(verdict.log))
    return "\n".join(parts)


def guard_findings(verdict: Verdict) -> str:
    if not verdict.findings:
        return "None."
    lines = []
    for f in verdict.findings:
        where = f"{f.where} line {f.line}" if f.line is not None else f.where
        lines.append(f"- [{f.rule}] {where}: {f.message}")
    return "\n".join(lines)


def attempt_summary(attempt: Attempt) -> str:
    v = attempt.verdict
    # "idea -> result": what was tried, so neither agent proposes it again
    idea = f' "{attempt.idea}"' if attempt.idea else ""
    text = (
        f"round {attempt.round}, candidate {attempt.candidate_index}, {attempt.mode}{idea}: {v.status.value}"
    )
    if v.speedup_vs_eager is not None:
        text += f", {v.speedup_vs_eager:.2f}x vs eager"
    if v.candidate_timing is not None:
        text += f" ({v.candidate_timing.median_ms:.4g} ms)"
    if v.speedup_vs_compiled is not None:
        text += f", {v.speedup_vs_compiled:.2f}x vs torch.compile"
    if attempt.profile and attempt.profile.roofline:
        text += f", {attempt.profile.roofline.sol_pct:.0f}% of speed of light"
    if v.status != Status.ok and v.message:
        text += f" - {v.message}"
    return text


def history(attempts: Sequence[Attempt], max_lines: int = MAX_HISTORY_LINES) -> str:
    """One line per attempt, oldest first, the most recent `max_lines` kept."""
    if not attempts:
        return "No attempts yet."
    lines = [attempt_summary(a) for a in attempts]
    if len(lines) > max_lines:
        kept = lines[-max_lines:] if max_lines > 0 else []
        lines = [f"({len(lines) - max_lines} earlier attempts omitted)", *kept]
    return "\n".join(lines)


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.3g}"
