"""The report from a real simulated recording through the real pipeline (and in Chromium)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hipscope.acquisition.simulator import simulate
from hipscope.cli import main
from hipscope.processing.pipeline import SessionAnalysis, analyze_recording
from hipscope.processing.report.chromium import dump_dom, find_chromium
from hipscope.processing.report.html import render_report, write_report


@pytest.fixture(scope="module")
def analysis(tmp_path_factory: pytest.TempPathFactory) -> SessionAnalysis:
    path = tmp_path_factory.mktemp("sim") / "screen.h5"
    simulate(seed=3).write(path, athlete="Sim <Athlete>")
    return analyze_recording(path)


def test_report_shows_the_pipeline_numbers_and_plots(analysis: SessionAnalysis) -> None:
    html = render_report(analysis)
    doc = analysis.to_dict()
    stance = {t["side"]: t["metrics"] for t in doc["tasks"] if t["kind"] == "single_leg_stance"}
    for side in ("left", "right"):
        assert f"{stance[side]['pelvic_drop_peak_deg']:.1f}°" in html
    hinge = next(t for t in analysis.tasks if t.task.kind == "hip_hinge")
    n_reps = hinge.metrics["rep_count"]
    assert n_reps == 5
    # per repetition: an angle chart and a velocity chart, with both onsets marked
    assert html.count('<div class="rep">') == n_reps
    assert html.count(">back</text>") == n_reps
    # stance plots from the pipeline's series: pelvic drop and trunk lean
    assert html.count(">trunk lean</text>") == 2
    assert "Step times over the walk" in html
    assert "Plots need the recording" not in html
    assert "Sim &lt;Athlete&gt;" in html


def test_plots_follow_the_series_not_a_recomputation(analysis: SessionAnalysis) -> None:
    """Changing the pipeline's series changes the plot: the report draws what was computed."""
    stance = next(t for t in analysis.tasks if t.task.kind == "single_leg_stance")
    original = stance.series["pelvic_drop_deg"].copy()
    try:
        stance.series["pelvic_drop_deg"] = original + 20.0
        shifted = render_report(analysis)
    finally:
        stance.series["pelvic_drop_deg"] = original
    ticks = [
        float(v.replace("−", "-")) for v in re.findall(r'fill="#4a5560">([−\d.]+)</text>', shifted)
    ]
    assert max(ticks) >= 20.0


@pytest.mark.skipif(find_chromium() is None, reason="headless Chromium not installed")
def test_chromium_renders_the_real_report(analysis: SessionAnalysis, tmp_path: Path) -> None:
    path = write_report(analysis, tmp_path / "report.html")
    dump = dump_dom(path)
    assert dump.console == []
    assert len(re.findall(r"<svg\b", dump.dom)) >= 15
    assert len(re.findall(r"<polyline\b", dump.dom)) >= 20


def test_report_command_on_a_recording(tmp_path: Path) -> None:
    path = tmp_path / "screen.h5"
    simulate(seed=4, placements=("pelvis", "thigh_left", "thigh_right")).write(path)
    out = tmp_path / "out" / "r.html"
    assert main(["report", str(path), "--out", str(out), "--athlete", "No Trunk"]) == 0
    html = out.read_text(encoding="utf-8")
    assert "No Trunk" in html
    assert "Not available" in html  # lumbar-based metrics without a trunk sensor say why
