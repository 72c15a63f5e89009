"""Review and live metrics on a simulated screen: checked against the simulator's ground truth
and against the pipeline's session analysis (the JSON contract), plus export and the CLI
front door."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from hipscope.acquisition.simulator import simulate
from hipscope.gui.hub import DataHub

RATE_HZ = 60.0


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    sim = simulate(rate_hz=RATE_HZ, seed=3)
    path = tmp_path_factory.mktemp("review") / "screen.h5"
    sim.write(path, athlete="Test Athlete")
    return path, sim.truth


pytestmark = pytest.mark.usefixtures("temp_qt_settings")


def _truth(truth: list[dict[str, Any]], kind: str, side: str = "") -> dict[str, Any]:
    return next(t for t in truth if t["kind"] == kind and t["side"] == side)


def test_live_metrics_on_replay_match_ground_truth(qtbot, session) -> None:  # type: ignore[no-untyped-def]
    from hipscope.gui.replay import ReplaySource, ReplayWindow

    path, truth = session
    source = ReplaySource(path)
    window = ReplayWindow(source)  # real streaming fusion through the live path
    qtbot.addWidget(window)
    window.show()

    for side in ("left", "right"):
        stance = _truth(truth, "single_leg_stance", side)
        window.seek(0.5 * (stance["hold_start_s"] + stance["hold_end_s"]))
        shown = window.metrics.shown
        assert shown["pelvic drop"] == pytest.approx(stance["pelvic_drop_deg"], abs=1.0)
        assert shown["trunk lean to stance"] == pytest.approx(stance["trunk_lean_deg"], abs=1.0)

    hinge = _truth(truth, "hip_hinge")
    last = hinge["reps"][-1]
    window.seek(last["end_s"])
    assert window.metrics.shown["hip lead, last rep"] == pytest.approx(
        last["hip_lead_ms"], abs=35.0
    )

    gait = _truth(truth, "gait")
    window.seek(gait["steady_end_s"])
    assert window.metrics.shown["step L"] == pytest.approx(gait["step_time_left_s"], abs=0.03)
    assert window.metrics.shown["step R"] == pytest.approx(gait["step_time_right_s"], abs=0.03)
    assert window.metrics.shown["step time SI"] == pytest.approx(gait["step_time_si_pct"], abs=3.0)
    window.close()


def test_review_panel_tables_and_exports(qtbot, session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from hipscope.gui.review import ReviewPanel
    from hipscope.processing.pipeline import analyze_file

    path, truth = session
    seeks: list[float] = []
    panel = ReviewPanel(seek=seeks.append)
    qtbot.addWidget(panel)
    panel.analyze(path)  # background thread, result through a queued signal
    qtbot.waitUntil(lambda: panel.doc is not None, timeout=60_000)
    doc = panel.doc
    assert doc == json.loads(json.dumps(analyze_file(path)))  # the same JSON contract
    assert panel.tasks_table.rowCount() == len(doc["tasks"]) == len(truth)

    sides = {
        panel.sides_table.item(r, 0).text(): (
            panel.sides_table.item(r, 1).text(),
            panel.sides_table.item(r, 2).text(),
        )
        for r in range(panel.sides_table.rowCount())
    }
    left, right = sides["SLS: Pelvic drop, peak"]
    assert float(left.rstrip("°")) == pytest.approx(
        _truth(truth, "single_leg_stance", "left")["pelvic_drop_deg"], abs=1.0
    )
    assert float(right.rstrip("°")) == pytest.approx(
        _truth(truth, "single_leg_stance", "right")["pelvic_drop_deg"], abs=1.0
    )
    step_left, step_right = sides["Gait: Step time"]
    assert float(step_left.split()[0]) == pytest.approx(
        _truth(truth, "gait")["step_time_left_s"], abs=0.03
    )
    assert float(step_right.split()[0]) == pytest.approx(
        _truth(truth, "gait")["step_time_right_s"], abs=0.03
    )

    hinge_index = next(i for i, t in enumerate(doc["tasks"]) if t["kind"] == "hip_hinge")
    assert panel.reps_table.rowCount() == len(doc["tasks"][hinge_index]["metrics"]["repetitions"])
    assert panel.reps_table.rowCount() == len(_truth(truth, "hip_hinge")["reps"])

    panel.tasks_table.selectRow(hinge_index)
    assert seeks[-1] == doc["tasks"][hinge_index]["start_s"]
    assert panel.tabs.tabText(2) == "Detail: Hip hinge"
    curves = panel.series_plot.getPlotItem().listDataItems()
    assert len(curves) >= 2  # hip and lumbar flexion / velocities of the analysis
    onsets = panel.analysis.tasks[hinge_index].series["hip_onsets_s"]
    assert len(onsets) == len(_truth(truth, "hip_hinge")["reps"])

    out_json = panel.export(tmp_path / "m.json")
    assert json.loads(out_json.read_text()) == doc
    rows = list(csv.DictReader(io.StringIO(panel.export(tmp_path / "m.csv").read_text())))
    drop = [
        r
        for r in rows
        if r["kind"] == "single_leg_stance" and r["metric"] == "pelvic_drop_peak_deg"
    ]
    assert [float(r["value"]) for r in drop] == [
        t["metrics"]["pelvic_drop_peak_deg"]
        for t in doc["tasks"]
        if t["kind"] == "single_leg_stance"
    ]
    lead = [r for r in rows if r["metric"] == "hip_lead_ms" and r["repetition"]]
    assert len(lead) == panel.reps_table.rowCount()
    for r in rows:
        assert r["value"] not in ("nan", "None")
    from hipscope.base.errors import HipscopeError

    with pytest.raises(HipscopeError, match=r"expected a \.json or \.csv"):
        panel.export(tmp_path / "m.txt")


def test_review_shows_a_failed_analysis(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from hipscope.gui.review import ReviewPanel

    panel = ReviewPanel()
    qtbot.addWidget(panel)
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    panel.analyze(bad, wait=True)
    assert panel.state_label.text().startswith("Analysis failed")
    assert panel.doc is None and not panel.json_button.isEnabled()


def test_cli_replay_and_review_screenshots(session, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from hipscope.cli import main

    path, _ = session
    out = tmp_path / "review.png"
    assert main(["review", str(path), "--at", "15", "--screenshot", str(out)]) == 0
    assert out.stat().st_size > 20_000
    from PySide6 import QtGui

    image = QtGui.QImage(str(out))
    assert image.width() >= 1200 and image.height() >= 800
    from hipscope.gui.app import font_family

    # without an installed font Qt draws empty boxes silently
    assert font_family() in QtGui.QFontDatabase.families()
    assert main(["replay", str(tmp_path / "missing.h5")]) == 1
    assert main(["replay", str(path), "--screenshot", str(tmp_path / "x.jpg")]) == 1
    assert main(["live", "--virtual", "--kit", str(path)]) == 1


def test_hub_without_fusion_still_shows_raw_data(session) -> None:  # type: ignore[no-untyped-def]
    from hipscope.gui.replay import ReplaySource

    path, _ = session
    source = ReplaySource(path)
    hub = DataHub(source.placements, source.rate_hz, kinematics_factory=None)
    source.feed(hub, 0.0, 5.0)
    hub.process_pending()
    assert math.isclose(hub.now_s(), 5.0, abs_tol=1.5 / RATE_HZ)
    assert not hub.has_angle("pelvis_obliquity")
    assert not hub.set_reference()
    source.close()


def test_review_csv_export_keeps_text_out_of_spreadsheet_formulas(tmp_path: Path) -> None:
    """Text from a metrics file (kinds, reasons, string metrics) is written as text: a
    leading '=' gets the apostrophe the other CSV exports use, numbers stay numbers."""
    from hipscope.gui.review import export
    from hipscope.processing.contract import read_metrics

    fixture = Path(__file__).parent / "data" / "report" / "metrics_example.json"
    document = read_metrics(fixture)
    task = document.tasks[0]
    task.unavailable["pelvis_tilt_mean_deg"] = '=HYPERLINK("http://x","click")'
    out = export(document, tmp_path / "m.csv")
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    reasons = [r["unavailable"] for r in rows if r["metric"] == "pelvis_tilt_mean_deg"]
    assert reasons and all(r.startswith("'=HYPERLINK(") for r in reasons)
    negative = [r["value"] for r in rows if r["value"].startswith("-")]
    assert all(float(v) < 0 for v in negative)
    assert not list(tmp_path.glob(".*"))  # the atomic writer left no temporary file
