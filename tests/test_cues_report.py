"""Recorded live cues through the analysis: attached to the task they were given in, into
the metrics JSON, the HTML report and `hipscope info`; sessions without rules show nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hipscope.acquisition.recorder import Recorder, SensorMeta
from hipscope.acquisition.simulator import SingleLegStanceSpec, StaticSpec, simulate
from hipscope.base.cues import CueEvent
from hipscope.cli import main
from hipscope.processing.contract import MetricsDocument, parse_metrics, read_metrics
from hipscope.processing.cues import assign_cues
from hipscope.processing.pipeline import SessionAnalysis, analyze_recording
from hipscope.processing.report.html import render_report

RULES = ("pelvic_drop_deg>5", "trunk_lean_deg>8", "<b>[bold]x")
MARKUP = "<img src=x onerror=alert(1)>[bold]"
EXAMPLE = Path(__file__).parent / "data" / "report" / "metrics_example.json"


def _write(path: Path, cues: list[CueEvent], rules: tuple[str, ...]) -> Path:
    sim = simulate(
        [
            StaticSpec(duration_s=4.0),
            SingleLegStanceSpec("left", hold_s=4.0, pelvic_drop_deg=6.0, trunk_lean_deg=2.0),
        ],
        rate_hz=50.0,
        seed=3,
    )
    metas = [
        SensorMeta(p, profile="simulated", nominal_rate_hz=50.0, has_seq=True)
        for p in sim.samples
    ]
    with Recorder(path, metas, athlete="Cue Test", cue_rules=rules) as recorder:
        for task in sim.tasks:
            recorder.add_task(task)
        for placement, batch in sim.samples.items():
            recorder.append(placement, batch)
        for cue in cues:
            assert recorder.add_cue(cue)
    return path


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> SessionAnalysis:
    folder = tmp_path_factory.mktemp("cues")
    probe = simulate([StaticSpec(duration_s=4.0), SingleLegStanceSpec("left", hold_s=4.0)],
                     rate_hz=50.0, seed=3)
    static, stance = probe.tasks
    cues = [
        CueEvent(stance.start_s + 2.0, RULES[0], "pelvic_drop_deg", 6.3, 5.0,
                 "single_leg_stance", "left"),
        CueEvent(stance.start_s + 3.5, RULES[0], "pelvic_drop_deg", 5.75, 5.0,
                 "single_leg_stance", "left"),
        # between the tasks (the coach had not pressed the stance button yet)
        CueEvent((static.end_s + stance.start_s) / 2, MARKUP, "trunk_lean_deg", 9.0, 8.0, "", ""),
    ]
    assert static.end_s < cues[2].time_s < stance.start_s
    return analyze_recording(_write(folder / "cued.h5", cues, RULES))


def test_cues_are_attached_to_their_task(session: SessionAnalysis) -> None:
    doc = session.to_document()
    static, stance = doc.tasks
    assert static.cues == []
    assert [(c.rule, c.value) for c in stance.cues] == [(RULES[0], 6.3), (RULES[0], 5.75)]
    assert stance.cues[0].task_kind == "single_leg_stance"
    assert doc.cues is not None
    assert doc.cues.rules == [*RULES, MARKUP]  # a rule seen only in a cue is listed too
    assert doc.cues.count == 3
    assert [c.rule for c in doc.cues.outside_tasks] == [MARKUP]


def test_metrics_json_round_trip(session: SessionAnalysis, tmp_path: Path) -> None:
    raw = session.to_dict()
    assert raw["tasks"][1]["cues"][0] == {
        "time_s": pytest.approx(session.tasks[1].task.start_s + 2.0),
        "rule": RULES[0],
        "metric": "pelvic_drop_deg",
        "value": 6.3,
        "threshold": 5.0,
        "task_kind": "single_leg_stance",
        "task_side": "left",
    }
    path = tmp_path / "m.json"
    path.write_text(json.dumps(raw))
    assert read_metrics(path).to_dict() == raw
    bad = json.loads(json.dumps(raw))
    bad["tasks"][1]["cues"][0]["value"] = "6.3"
    with pytest.raises(Exception, match=r"tasks\[1\]\.cues\[0\]\.value"):
        parse_metrics(bad)


def test_old_metrics_files_read_without_cues() -> None:
    doc = read_metrics(EXAMPLE)
    assert doc.cues is None and all(t.cues == [] for t in doc.tasks)
    assert "cues" not in json.dumps(doc.to_dict())  # nothing added on the way through
    assert 'id="cues"' not in render_report(doc)


def test_report_lists_cues_per_task_as_text(session: SessionAnalysis) -> None:
    html = render_report(session)
    section = html[html.index('<section id="cues"') :]
    section = section[: section.index("</section>")]
    assert "Live cues" in section and "3 cues given" in section
    assert "pelvic_drop_deg&gt;5" in section  # rules and values shown, escaped
    assert "6.3°" in section and "5.0°" in section
    assert "Single-leg stance" in section and "Outside any task" in section
    assert "No cue during: Quiet standing" in section
    assert "<img" not in html and "&lt;img src=x" in section
    assert "<b>[bold]x" not in html


def test_a_session_without_rules_shows_nothing_extra(tmp_path: Path) -> None:
    session = analyze_recording(_write(tmp_path / "plain.h5", [], ()))
    raw = session.to_dict()
    assert "cues" not in raw and all("cues" not in t for t in raw["tasks"])
    assert 'id="cues"' not in render_report(session)


def test_rules_without_cues_say_so(tmp_path: Path) -> None:
    doc: MetricsDocument = analyze_recording(
        _write(tmp_path / "quiet.h5", [], ("hip_lead_ms<0",))
    ).to_document()
    assert doc.cues is not None and doc.cues.count == 0 and doc.cues.rules == ["hip_lead_ms<0"]
    html = render_report(doc)
    assert "0 cues given" in html and "No cue during: Quiet standing, Single-leg stance" in html


def test_assign_cues_takes_the_first_task_containing_the_time() -> None:
    from hipscope.acquisition.samples import Task

    tasks = [Task("static", "", 0.0, 5.0), Task("gait", "", 5.0, 9.0)]
    cue = CueEvent(5.0, "x>1", "x", 2.0, 1.0, "", "")
    late = CueEvent(9.5, "x>1", "x", 2.0, 1.0, "", "")
    assigned = assign_cues(tasks, [late, cue])
    assert assigned.per_task == ((cue,), ())
    assert assigned.outside == (late,)


def test_info_prints_the_cue_count_and_rules(
    session: SessionAnalysis, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    assert main(["info", str(session.recording.path)]) == 0
    out = capsys.readouterr().out
    assert "live cues: 3  rules: pelvic_drop_deg>5, trunk_lean_deg>8, <b>[bold]x, " in out
    assert MARKUP in out  # markup in a rule prints as its text
    assert "single_leg_stance left" in out


def test_report_and_analyze_commands(
    session: SessionAnalysis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = session.recording.path
    out = tmp_path / "r.html"
    assert main(["report", str(path), "--out", str(out)]) == 0
    assert 'id="cues"' in out.read_text(encoding="utf-8")
    json_path = tmp_path / "m.json"
    assert main(["analyze", str(path), "--json", str(json_path)]) == 0
    doc = read_metrics(json_path)
    assert doc.cues is not None and len(doc.tasks[1].cues) == 2
