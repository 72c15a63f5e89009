"""Automatic task detection on a short simulated session, pelvis-only walks, and the wiring
into the analysis (source and confidence in the metrics JSON, `hipscope analyze`)."""

from __future__ import annotations

import dataclasses
import json
import tempfile
from pathlib import Path

import numpy as np
import pytest

from hipscope.acquisition.recording import Recording, load_recording
from hipscope.acquisition.simulator import (
    GaitSpec,
    RepetitionSpec,
    SimulatedSession,
    SingleLegStanceSpec,
    StaticSpec,
    simulate,
)
from hipscope.cli import main
from hipscope.processing.kinematics import compute_kinematics
from hipscope.processing.pipeline import analyze_recording
from hipscope.processing.task_detection import TaskDetector, detect_tasks

RATE_HZ = 50.0


def without_rows(sim: SimulatedSession) -> Recording:
    """The simulated session as a recording without task rows (read back from a file)."""
    with tempfile.TemporaryDirectory() as folder:
        return load_recording(dataclasses.replace(sim, tasks=[]).write(Path(folder) / "a.h5"))


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[SimulatedSession, Path, Path]:
    """A short session in an unusual order; written with and without its task rows."""
    protocol = [
        StaticSpec(duration_s=4.0),
        RepetitionSpec("squat", reps=2),
        SingleLegStanceSpec("right", hold_s=3.0),
        GaitSpec(duration_s=8.0),
        RepetitionSpec("hip_hinge", reps=2, rest_s=0.5),
        SingleLegStanceSpec("left", hold_s=3.0),
    ]
    sim = simulate(protocol, seed=11, rate_hz=RATE_HZ, pause_s=2.0, soft_tissue_deg=2.0)
    folder = tmp_path_factory.mktemp("detect")
    with_rows = sim.write(folder / "rows.h5")
    without = dataclasses.replace(sim, tasks=[]).write(folder / "no_rows.h5")
    return sim, with_rows, without


def test_finds_every_task_with_its_kind_side_and_boundaries(
    session: tuple[SimulatedSession, Path, Path],
) -> None:
    sim, _, without = session
    detector = detect_tasks(compute_kinematics(load_recording(without)))
    found = [d for d in detector.tasks_ if d.task.kind != "static"]
    truth = [t for t in sim.truth if t["kind"] != "static"]
    assert [(d.task.kind, d.task.side) for d in found] == [(t["kind"], t["side"]) for t in truth]
    for d, t in zip(found, truth, strict=True):
        assert abs(d.task.start_s - t["start_s"]) < 0.5, (d, t["start_s"])
        assert abs(d.task.end_s - t["end_s"]) < 0.5, (d, t["end_s"])
        assert 0.5 <= d.confidence <= 1.0 and d.evidence
    statics = [d.task for d in detector.tasks_ if d.task.kind == "static"]
    first = sim.truth[0]
    assert statics and statics[0].start_s <= first["start_s"] + 0.3
    assert statics[0].end_s >= first["end_s"] - 0.3
    assert detector.notes_ == []


def test_pelvis_only_walk_gives_walking_and_standing_and_says_what_is_missing() -> None:
    sim = simulate(
        [StaticSpec(duration_s=4.0), GaitSpec(duration_s=10.0)],
        seed=3,
        rate_hz=RATE_HZ,
        placements=("pelvis",),
    )
    rec = without_rows(sim)
    detector = detect_tasks(compute_kinematics(rec))
    kinds = [d.task.kind for d in detector.tasks_]
    assert kinds.count("gait") == 1 and "static" in kinds
    gait = next(d.task for d in detector.tasks_ if d.task.kind == "gait")
    assert abs(gait.start_s - sim.truth[1]["start_s"]) < 0.5
    assert abs(gait.end_s - sim.truth[1]["end_s"]) < 0.5
    assert any("thigh sensors" in note for note in detector.notes_)


def test_still_recording_gives_only_quiet_standing() -> None:
    sim = simulate([StaticSpec(duration_s=8.0)], seed=2, rate_hz=RATE_HZ)
    detector = detect_tasks(compute_kinematics(without_rows(sim)))
    assert [d.task.kind for d in detector.tasks_] == ["static"]


def test_detector_parameters_change_what_is_found(
    session: tuple[SimulatedSession, Path, Path],
) -> None:
    kin = compute_kinematics(load_recording(session[2]))
    strict = detect_tasks(kin, TaskDetector(min_hold_s=10.0))
    assert not any(d.task.kind == "single_leg_stance" for d in strict.tasks_)
    assert TaskDetector(min_hold_s=10.0).clone().min_hold_s == 10.0


def test_analysis_detects_when_there_are_no_rows_and_marks_the_source(
    session: tuple[SimulatedSession, Path, Path],
) -> None:
    _, with_rows, without = session
    recorded = analyze_recording(with_rows).to_dict()
    assert {t["source"] for t in recorded["tasks"]} == {"recorded"}
    assert all(t["confidence"] is None for t in recorded["tasks"])
    assert recorded.get("task_detection") is None

    detected = analyze_recording(without).to_dict()
    assert {t["source"] for t in detected["tasks"]} == {"detected"}
    assert all(0.0 <= t["confidence"] <= 1.0 for t in detected["tasks"])
    assert detected["task_detection"] == {"notes": []}
    assert detected["parameters"]["task_detection"]["min_hold_s"] == 1.0
    json.dumps(detected, allow_nan=False)

    # Metrics of the same task agree whether its row was recorded or detected.
    for kind, side, key, tol in (
        ("single_leg_stance", "right", "pelvic_drop_mean_deg", 1.0),
        ("squat", "", "hip_lead_ms_median", 30.0),
        ("gait", "", "cadence_steps_min", 2.0),
    ):
        a = next(t for t in recorded["tasks"] if (t["kind"], t["side"]) == (kind, side))
        b = next(t for t in detected["tasks"] if (t["kind"], t["side"]) == (kind, side))
        assert a["metrics"][key] is not None and b["metrics"][key] is not None
        assert abs(a["metrics"][key] - b["metrics"][key]) <= tol, (kind, key)

    forced = analyze_recording(with_rows, detect=True)
    assert forced.detection is not None
    assert {t.source for t in forced.tasks} == {"detected"}


def test_cli_says_it_detected_the_tasks(
    session: tuple[SimulatedSession, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, with_rows, without = session
    out = tmp_path / "m.json"
    assert main(["analyze", str(without), "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "tasks detected" in printed and "no task rows" in printed
    assert json.loads(out.read_text())["tasks"][0]["source"] == "detected"
    assert main(["analyze", str(with_rows), "--detect-tasks"]) == 0
    assert "recorded task rows are set aside" in capsys.readouterr().out
    assert main(["analyze", str(with_rows)]) == 0
    assert "tasks detected" not in capsys.readouterr().out


def test_activity_is_low_in_quiet_standing_and_high_in_walking(
    session: tuple[SimulatedSession, Path, Path],
) -> None:
    sim, _, without = session
    kin = compute_kinematics(load_recording(without))
    detector = detect_tasks(kin)
    static, gait = sim.truth[0], next(t for t in sim.truth if t["kind"] == "gait")
    t = kin.time_s
    inside = (t > static["start_s"] + 0.5) & (t < static["end_s"] - 0.5)
    walking = (t > gait["steady_start_s"]) & (t < gait["steady_end_s"])
    assert np.all(detector.activity_[inside] < 1.0)
    assert np.median(detector.activity_[walking]) > 5.0
