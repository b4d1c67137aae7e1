"""Trusted: inputs, reference, comparison, timing cross-check, the Verdict. Never imports candidate code."""
