"""Headless Chromium for the report: PDF printing, screenshots and DOM dumps.

Chromium is optional: only ``--pdf`` and the report's browser checks need it. The flags keep
it quiet on a closed network (no background networking, no component updates) and let it
run as root in containers (``--no-sandbox``). A fresh profile directory is used per call.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hipscope.base.errors import HipscopeError

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)
_CONSOLE = re.compile(r":CONSOLE[:(]\d*\)?\]? ?(.*)")


class ChromiumMissingError(HipscopeError):
    """No Chromium/Chrome executable was found."""


@dataclass(frozen=True)
class DomDump:
    """The rendered DOM and the page's console messages."""

    dom: str
    console: list[str]


def find_chromium() -> str | None:
    """Path of a Chromium-like browser: ``$HIPSCOPE_CHROMIUM``, then the usual names."""
    explicit = os.environ.get("HIPSCOPE_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).exists() else shutil.which(explicit)
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _require() -> str:
    path = find_chromium()
    if path is None:
        raise ChromiumMissingError(
            "headless Chromium not found (install the Debian package 'chromium' or set "
            "HIPSCOPE_CHROMIUM to the browser executable)"
        )
    return path


def _run(args: list[str], page: Path, timeout_s: float) -> subprocess.CompletedProcess[str]:
    browser = _require()
    if not page.exists():
        raise HipscopeError(f"{page}: no such file")
    with tempfile.TemporaryDirectory(prefix="hipscope-chromium-") as profile:
        command = [browser, *_FLAGS, f"--user-data-dir={profile}", *args, page.resolve().as_uri()]
        try:
            return subprocess.run(
                command, capture_output=True, text=True, timeout=timeout_s, check=False
            )
        except subprocess.TimeoutExpired:
            raise HipscopeError(
                f"{page}: Chromium did not finish within {timeout_s:.0f} s"
            ) from None
        except OSError as error:
            raise ChromiumMissingError(f"{browser}: cannot run Chromium ({error})") from None


def print_pdf(html_path: str | Path, pdf_path: str | Path, *, timeout_s: float = 90.0) -> Path:
    """Print an HTML file to PDF with headless Chromium; returns the PDF path."""
    pdf = Path(pdf_path).resolve()
    pdf.parent.mkdir(parents=True, exist_ok=True)
    if pdf.exists():
        pdf.unlink()
    result = _run([f"--print-to-pdf={pdf}", "--no-pdf-header-footer"], Path(html_path), timeout_s)
    if not pdf.exists() or pdf.stat().st_size == 0:
        tail = result.stderr.strip().splitlines()[-1:] or ["no output"]
        raise HipscopeError(f"{pdf}: Chromium wrote no PDF ({tail[0]})")
    return pdf


def screenshot(
    html_path: str | Path,
    png_path: str | Path,
    *,
    width: int = 1280,
    height: int = 2400,
    timeout_s: float = 90.0,
) -> Path:
    """A PNG of the page at the given window size."""
    png = Path(png_path).resolve()
    png.parent.mkdir(parents=True, exist_ok=True)
    if png.exists():
        png.unlink()
    result = _run(
        [f"--screenshot={png}", f"--window-size={width},{height}"], Path(html_path), timeout_s
    )
    if not png.exists():
        tail = result.stderr.strip().splitlines()[-1:] or ["no output"]
        raise HipscopeError(f"{png}: Chromium wrote no screenshot ({tail[0]})")
    return png


def dump_dom(html_path: str | Path, *, timeout_s: float = 90.0) -> DomDump:
    """The DOM after rendering plus every console message the page logged."""
    result = _run(["--enable-logging=stderr", "--v=0", "--dump-dom"], Path(html_path), timeout_s)
    console = [m.group(1) for line in result.stderr.splitlines() if (m := _CONSOLE.search(line))]
    return DomDump(dom=result.stdout, console=console)
