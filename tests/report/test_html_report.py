"""The HTML report: self-contained, renders in headless Chromium without console errors."""

from __future__ import annotations

import colorsys
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kernelwright.report.build import write_html_report
from kernelwright.report.svg import NO_CORRECT, PALETTE

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


def _hue_saturation(color: str) -> tuple[float, float]:
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))
    hue, _, saturation = colorsys.rgb_to_hls(r, g, b)
    return hue * 360, saturation


def test_no_series_colour_reads_as_the_no_correct_red() -> None:
    red_hue, _ = _hue_saturation(NO_CORRECT)
    for color in PALETTE:
        hue, saturation = _hue_saturation(color)
        distance = min(abs(hue - red_hue), 360 - abs(hue - red_hue))
        assert saturation < 0.15 or distance >= 30, color


def test_geomean_labels_are_whole_short_gpu_names(fixture_store: FixtureStore, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    write_html_report(fixture_store.store.engine, out, source="fixture")
    labels = re.findall(
        r'class="tick" text-anchor="end" transform="rotate[^>]*>([^<]*)</text>', out.read_text()
    )
    assert {"L1 H100", "L2 H100", "all H100", "L1 A100", "all A100"} <= set(labels)
    assert not [label for label in labels if "NVIDIA" in label or "…" in label]


def test_histograms_name_their_axes_with_units(fixture_store: FixtureStore, tmp_path: Path) -> None:
    out = tmp_path / "report.html"
    write_html_report(fixture_store.store.engine, out, source="fixture")
    html = out.read_text()
    assert ">Cost per task (USD, bin lower bound)</text>" in html
    assert ">Time per task (s, bin lower bound)</text>" in html
    assert html.count('class="axis" text-anchor="middle" transform="rotate(-90') >= 6  # every y axis


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
