"""The HTML report: self-contained, renders in headless Chromium without console errors."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kernelwright.report.build import write_html_report

from .conftest import FixtureStore

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="LOUD SKIP: no chromium binary (Debian package 'chromium') to render the report"
)
SHOTS = Path(__file__).parent / "screenshots"


def _chromium(page: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
         "--virtual-time-budget=3000", "--window-size=1400,2600", *extra, page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def console_messages(stderr: str) -> list[str]:
    """Every console message and uncaught error Chromium logged for the page."""
    return [line for line in stderr.splitlines() if ":CONSOLE" in line or "Uncaught" in line]


def test_report_is_self_contained(fixture_store: FixtureStore, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    board = write_html_report(fixture_store.store.engine, out, source="fixture")
    html = out.read_text()
    # nothing fetched from anywhere: no external scripts, styles, images or fonts
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html
    assert html.count("<svg") == 6  # speedups, fast_p, level geomeans, rounds, cost, time
    for row in board.tasks:  # every task result is in the table, with hover text on its bar
        assert row.task_key in html
    assert 'data-tip="level1/1_A on NVIDIA H100 80GB HBM3 (m1): 2.5x eager' in html
    assert "<title>level1/3_C on NVIDIA H100 80GB HBM3 (m1): no correct kernel in 2 attempts</title>" in html


@needs_chromium
def test_console_detector_sees_errors(tmp_path: Path) -> None:
    """The check below can fail: a page that throws is caught."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>missingFunction();</script></body></html>")
    assert any("Uncaught" in m for m in console_messages(_chromium(page, "--dump-dom").stderr))


@needs_chromium
def test_report_renders_in_chromium_without_console_errors(
    fixture_store: FixtureStore, tmp_path: Path
) -> None:
    SHOTS.mkdir(exist_ok=True)
    page = tmp_path / "report.html"
    out = subprocess.run(
        [sys.executable, "-m", "kernelwright", "report", "--html", str(page), "--db", fixture_store.url],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    dom = _chromium(page, "--dump-dom")
    assert console_messages(dom.stderr) == []
    assert 'data-report-ready="1"' in dom.stdout  # the inline script ran to its last line
    shot = SHOTS / "report.png"
    shot.unlink(missing_ok=True)
    rendered = _chromium(page, f"--screenshot={shot}")
    assert console_messages(rendered.stderr) == []
    assert shot.exists() and shot.stat().st_size > 20_000  # a blank page is a few kB
