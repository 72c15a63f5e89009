"""Reports are deterministic: the same input gives byte-identical HTML across processes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "recordings" / "sample_screen.h5"
FIXTURE = ROOT / "tests" / "data" / "report" / "metrics_example.json"


def _report(source: Path, out: Path) -> bytes:
    done = subprocess.run(
        [sys.executable, "-m", "hipscope", "report", str(source), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return out.read_bytes()


def test_report_of_the_sample_recording_is_identical_in_two_processes(tmp_path: Path) -> None:
    first = _report(SAMPLE, tmp_path / "a.html")
    second = _report(SAMPLE, tmp_path / "b.html")
    assert first == second
    assert first.count(b"<svg") > 10 and b"clip-" in first


def test_report_of_a_metrics_file_is_identical_in_one_process(tmp_path: Path) -> None:
    from hipscope.processing.report.html import render_report

    assert render_report(FIXTURE) == render_report(FIXTURE)
    assert _report(FIXTURE, tmp_path / "c.html").decode("utf-8") == render_report(FIXTURE)
