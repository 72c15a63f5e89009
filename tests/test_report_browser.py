"""The report in a real browser: headless Chromium renders it with its plots, no console errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from hipscope.processing.report.chromium import dump_dom, find_chromium, print_pdf, screenshot
from hipscope.processing.report.html import write_report

FIXTURE = Path(__file__).parent / "data" / "report" / "metrics_example.json"

pytestmark = pytest.mark.skipif(
    find_chromium() is None,
    reason="headless Chromium not installed (Debian package 'chromium'; or set HIPSCOPE_CHROMIUM)",
)


def test_chromium_renders_the_report_with_plots_and_no_console_errors(tmp_path: Path) -> None:
    doc = json.loads(FIXTURE.read_text(encoding="utf-8"))
    doc["recording"]["athlete"] = "<script>console.error('injected')</script>Zoë"
    html_path = write_report(doc, tmp_path / "report.html")
    dump = dump_dom(html_path)
    assert dump.console == [], dump.console
    assert "</html>" in dump.dom
    n_svg = len(re.findall(r"<svg\b", dump.dom))
    assert n_svg >= 2
    assert "<polyline" in dump.dom or "<circle" in dump.dom
    assert "&lt;script&gt;" in dump.dom  # shown as text, never run


def test_chromium_console_errors_are_caught(tmp_path: Path) -> None:
    """The console check itself works: a page that logs an error is seen."""
    page = tmp_path / "bad.html"
    page.write_text("<html><body><script>console.error('boom')</script></body></html>")
    assert any("boom" in line for line in dump_dom(page).console)


def test_pdf_and_screenshot(tmp_path: Path) -> None:
    doc = json.loads(FIXTURE.read_text(encoding="utf-8"))
    html_path = write_report(doc, tmp_path / "report.html")
    pdf = print_pdf(html_path, tmp_path / "report.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    png = screenshot(html_path, tmp_path / "report.png", width=800, height=600)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
