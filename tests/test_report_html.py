"""The HTML coaching report from a metrics document: content, escaping, references, plots."""

from __future__ import annotations

import copy
import json
import re
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from hipscope.base.errors import HipscopeError
from hipscope.processing.contract import GaitMetrics, TaskResult, parse_tasks
from hipscope.processing.report import plots
from hipscope.processing.report.html import ReportInput, render_report, write_report
from hipscope.processing.report.traces import stance_trace, step_series

FIXTURE = Path(__file__).parent / "data" / "report" / "metrics_example.json"


@pytest.fixture
def doc() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))


class _Collector(HTMLParser):
    """Collects tags, attributes and text so tests see what a browser would parse."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    return collector


def _sls(doc: dict[str, Any], side: str) -> dict[str, Any]:
    return next(t for t in doc["tasks"] if t["kind"] == "single_leg_stance" and t["side"] == side)


def test_report_has_every_task_and_no_external_resources(doc: dict[str, Any]) -> None:
    html = render_report(doc)
    page = parse(html)
    tags = [t for t, _ in page.tags]
    assert "script" not in tags
    for tag, attrs in page.tags:
        for name in ("src", "href"):
            value = attrs.get(name)
            assert value is None or value.startswith("#"), f"external {name} on <{tag}>: {value}"
    text = " ".join(page.text)
    for title in ("Quiet standing", "Single-leg stance", "Hip hinge", "Walking"):
        assert title in text
    assert "Jane Doe" in text
    # one step-time chart plus the left/right bars; the rep plots need kinematics or series
    assert tags.count("svg") >= 2
    assert html.count("Plots need the recording") == 2  # stance and hinge sections


def test_pelvic_drop_asymmetry_has_no_verdict_without_a_verified_norm(doc: dict[str, Any]) -> None:
    _sls(doc, "left")["metrics"]["pelvic_drop_peak_deg"] = 2.0
    _sls(doc, "right")["metrics"]["pelvic_drop_peak_deg"] = 7.5
    html = render_report(doc)
    assert re.search(r'class="num asym neutral">−5\.5°', html)
    assert "asym watch" not in html and 'card watch"><div class="what">Pelvic' not in html
    assert 'class="card neutral"><div class="what">Pelvic drop' in html
    assert "No published norm — compare sides and sessions." in html
    assert "DiMattia" not in html and "minimal detectable change" not in html


def test_step_time_si_is_shown_without_a_verdict(doc: dict[str, Any]) -> None:
    gait = next(t for t in doc["tasks"] if t["kind"] == "gait")
    for si in (2.0, -7.5):
        gait["metrics"]["step_time_si_pct"] = si
        html = render_report(doc)
        assert 'class="card neutral"><div class="what">Walking rhythm' in html
    assert "Voisard" not in html and "healthy |SI|" not in html and "Patterson" not in html


def test_step_time_si_shows_its_interval_or_why_there_is_none(doc: dict[str, Any]) -> None:
    gait = next(t for t in doc["tasks"] if t["kind"] == "gait")
    gait["metrics"].update(
        step_time_si_pct=-5.2, step_time_si_ci95_pct=[-6.61, -3.34], step_time_si_state="ok"
    )
    assert "−5.2% ± 11.1% (strides: 95 % CI −6.6 to −3.3)" in render_report(doc)
    gait["metrics"].update(
        step_time_si_pct=None, step_time_si_ci95_pct=None, step_time_si_state="too few steps"
    )
    assert "(too few steps)" in render_report(doc)


HOSTILE = [
    "<script>alert('x')</script>",
    '"><img src=x onerror=alert(1)>',
    'O\'Brien & "Sons"',
    "Жанна Иванова 李小龙 ليلى",
    "A" * 5000,
]


@pytest.mark.parametrize("name", HOSTILE)
def test_user_strings_are_escaped(doc: dict[str, Any], name: str) -> None:
    doc["recording"]["athlete"] = name
    doc["recording"]["session_id"] = name
    doc["recording"]["file_name"] = name
    doc["recording"]["sensors"]["pelvis"]["device_name"] = name
    doc["recording"]["sensors"][name] = doc["recording"]["sensors"]["pelvis"]
    doc["calibration"]["notes"] = [name]
    doc["calibration"]["mediolateral_axis_source"] = {name: name}
    doc["tasks"].append(
        {
            "kind": "lunge",
            "side": "",
            "start_s": 1.0,
            "end_s": 2.0,
            "metrics": {"note": name},
            "unavailable": {name: name},
        }
    )
    html = render_report(doc)
    page = parse(html)
    assert [t for t, _ in page.tags].count("script") == 0
    assert all(not k.startswith("on") for _, attrs in page.tags for k in attrs)
    assert all(t != "img" for t, _ in page.tags)
    # the text a browser shows is the name itself, not markup
    assert name in "".join(page.text)


def test_athlete_option_overrides_the_recording(doc: dict[str, Any]) -> None:
    html = render_report(doc, athlete="<b>Coach pick</b>")
    assert "&lt;b&gt;Coach pick&lt;/b&gt;" in html
    assert "Jane Doe" not in html.split("<main>")[0]


def test_missing_values_and_reasons_are_shown(doc: dict[str, Any]) -> None:
    gait = next(t for t in doc["tasks"] if t["kind"] == "gait")
    gait["metrics"]["thigh_rom_left_deg"] = None
    gait["unavailable"]["thigh_rom_left_deg"] = "no thigh_left sensor"
    html = render_report(doc)
    assert "no thigh_left sensor" in html
    text = " ".join(parse(html).text)
    assert "NaN" not in text and "None" not in text


def test_degenerate_documents_render(doc: dict[str, Any]) -> None:
    empty = copy.deepcopy(doc)
    empty["tasks"] = []
    assert "No tasks" in render_report(empty)
    sparse = copy.deepcopy(doc)
    sparse["recording"]["sensors"] = {}
    for task in sparse["tasks"]:
        task["metrics"] = {}
        task["unavailable"] = {}
    assert "No sensor information" in render_report(sparse)


def test_documents_breaking_the_contract_are_refused(doc: dict[str, Any]) -> None:
    """The contract names the field; a hostile task kind never reaches the page."""
    cases = [
        (("recording",), {}, "field 'recording.path' is missing"),
        (("tasks", 0, "metrics"), None, "field 'tasks[0].metrics'"),
        (("tasks", 0, "kind"), "<script>", "field 'tasks[0].kind' must be one of static"),
        (("tasks", 3, "metrics", "rep_count"), "5", "expected an integer, got '5'"),
    ]
    for path, value, message in cases:
        bad = copy.deepcopy(doc)
        target: Any = bad
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        with pytest.raises(HipscopeError, match=re.escape(message)):
            render_report(bad)


def test_bad_documents_are_refused(doc: dict[str, Any], tmp_path: Path) -> None:
    with pytest.raises(HipscopeError, match="format"):
        render_report({"format": "something else", "tasks": []})
    with pytest.raises(HipscopeError, match="format_version"):
        render_report({**doc, "format_version": 2})
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(HipscopeError, match=r"broken\.json"):
        render_report(broken)
    with pytest.raises(HipscopeError, match="cannot build"):
        render_report(42)


def test_plots_come_from_kinematics_when_series_are_missing(doc: dict[str, Any]) -> None:
    """Stance and repetition plots are rebuilt from angles on the session clock."""
    rate_hz = 100.0
    time_s = np.arange(0.0, 100.0, 1.0 / rate_hz)
    obliquity = np.zeros_like(time_s)
    left = _sls(doc, "left")
    inside = (time_s > left["start_s"] + 1) & (time_s < left["end_s"] - 1)
    obliquity[inside] = np.radians(3.0)
    flexion = np.radians(40.0) * np.clip(np.sin(time_s), 0, None)
    kin = SimpleNamespace(
        time_s=time_s,
        angles_rad={
            "pelvis_obliquity": obliquity,
            "hip_flexion_left": flexion,
            "lumbar_flexion": 0.3 * flexion,
        },
    )
    html = render_report(ReportInput(doc, [], kin))
    assert "Standing on left leg" in html and "Standing on right leg" in html
    hinge = next(t for t in doc["tasks"] if t["kind"] == "hip_hinge")
    n_reps = len(hinge["metrics"]["repetitions"])
    assert html.count('<div class="rep">') == n_reps
    trace = stance_trace(_typed(left), None, kin)
    assert trace is not None
    assert np.nanmax(trace.pelvic_drop_deg) == pytest.approx(3.0)  # left stance: +obliquity
    right = stance_trace(
        _typed(_sls(doc, "right")),
        None,
        SimpleNamespace(
            time_s=time_s, angles_rad={"pelvis_obliquity": -obliquity - np.radians(1.0)}
        ),
    )
    assert right is not None
    assert np.nanmin(right.pelvic_drop_deg) == pytest.approx(1.0)  # right stance: −obliquity


def _typed(task: dict[str, Any]) -> TaskResult:
    """One task of the JSON document as the contract's typed task."""
    (typed,) = parse_tasks([task])
    return typed


def test_series_take_precedence_over_kinematics(doc: dict[str, Any]) -> None:
    left = _sls(doc, "left")
    series_t = np.linspace(left["start_s"], left["end_s"], 50)
    trace = stance_trace(
        _typed(left), {"time_s": series_t, "pelvic_drop_deg": np.full(50, 6.5)}, None
    )
    assert trace is not None
    assert trace.time_s[0] == pytest.approx(0.0)
    assert np.all(trace.pelvic_drop_deg == 6.5)


def test_step_series_from_contacts() -> None:
    # left steps 0.6 s, right steps 0.5 s, alternating; a pause splits the walk
    left_ic = [0.5, 1.6, 2.7, 20.5]
    right_ic = [1.0, 2.1, 3.2, 21.0]
    steps = step_series(
        GaitMetrics(initial_contacts_left_s=left_ic, initial_contacts_right_s=right_ic)
    )
    assert steps is not None
    np.testing.assert_allclose(steps.step_time_s["left"], [0.6, 0.6])
    np.testing.assert_allclose(steps.step_time_s["right"], [0.5, 0.5, 0.5, 0.5])
    np.testing.assert_allclose(steps.contact_time_s["left"], [1.6, 2.7])
    assert step_series(GaitMetrics(initial_contacts_left_s=left_ic)) is None


def test_write_report_creates_folders_and_reports_unwritable(
    doc: dict[str, Any], tmp_path: Path
) -> None:
    out = write_report(doc, tmp_path / "a" / "b" / "report.html")
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HipscopeError, match="cannot write"):
        write_report(doc, blocker / "report.html")


def test_line_chart_keeps_peaks_gaps_and_escapes_labels() -> None:
    x = np.linspace(0.0, 10.0, 20001)
    y = np.sin(x)
    y[5000] = 9.0  # a one-sample spike must survive decimation
    y[12000:12100] = np.nan  # a gap must not be bridged
    svg = plots.line_chart(lines=[plots.Line(x, y, "<b>trace</b>")], title="t & u")
    assert "&lt;b&gt;trace&lt;/b&gt;" in svg and "t &amp; u" in svg
    polylines = re.findall(r'<polyline points="([^"]+)"', svg)
    assert len(polylines) == 2
    n_points = sum(len(p.split()) for p in polylines)
    assert n_points < 1500
    ys = [float(pt.split(",")[1]) for p in polylines for pt in p.split()]
    top_of_plot = min(ys)
    spike_x = x[5000]
    assert any(
        abs(float(pt.split(",")[1]) - top_of_plot) < 1e-6 for p in polylines for pt in p.split()
    ), "the spike reaches the top of the plot"
    assert spike_x > 0


def test_nice_ticks_are_round_and_cover_the_range() -> None:
    ticks = plots.nice_ticks(-3.2, 11.7, 5)
    assert ticks[0] >= -3.2 and ticks[-1] <= 11.7
    steps = np.diff(ticks)
    assert np.allclose(steps, steps[0]) and steps[0] in (2.0, 2.5, 5.0)
    assert len(plots.nice_ticks(0.0, 0.0)) == 1


def test_lost_samples_are_counted_per_sensor_and_in_total(doc: dict[str, Any]) -> None:
    sensors = doc["recording"]["sensors"]
    for info in sensors.values():
        info.update(lost_samples=0, gaps=[], n_samples=9000)
    assert "Complete data, no lost samples." in render_report(doc)
    sensors["trunk"].update(
        lost_samples=120,
        n_samples=11880,
        gaps=[{"start_s": 1.0, "end_s": 2.2, "lost_samples": 120}],
    )
    html = render_report(doc)
    assert "120 lost (1.0 %) in 1 gap(s)" in html
    assert "120 samples lost (0.3 %) in 1 gaps" in html  # of 4 sensors' 38 880 samples
    assert 'class="card watch"><div class="what">Data quality' in html


def test_turns_are_shaded_in_the_step_plot(doc: dict[str, Any]) -> None:
    gait = next(t for t in doc["tasks"] if t["kind"] == "gait")
    assert "turn (left out of the symmetry index)" not in render_report(doc)
    gait["metrics"]["turns_s"] = [[70.0, 73.5]]
    html = render_report(doc)
    assert "turn (left out of the symmetry index)" in html
    assert "Turns s" not in html  # the intervals are drawn, not listed as a measure
