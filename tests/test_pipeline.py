"""The pipeline end to end on simulated recordings: JSON contract, ground truth, missing sensors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hipscope.acquisition.simulator import GaitSpec, StaticSpec, simulate
from hipscope.base.errors import RecordingError
from hipscope.processing.pipeline import analyze_file, analyze_recording


def _write(tmp_path: Path, name: str, **kwargs: object) -> tuple[Path, object]:
    session = simulate(**kwargs)  # type: ignore[arg-type]
    path = tmp_path / f"{name}.h5"
    session.write(path, athlete="Test Athlete")
    return path, session


def _truth_errors(analysis: object, session: object) -> dict[str, float]:
    out = {"drop": 0.0, "lean": 0.0, "lead": 0.0, "si": 0.0}
    for result, truth in zip(analysis.tasks, session.truth, strict=True):  # type: ignore[attr-defined]
        m = result.metrics
        if result.task.kind == "single_leg_stance":
            out["drop"] = max(
                out["drop"], abs(m["pelvic_drop_mean_deg"] - truth["pelvic_drop_deg"])
            )
            out["lean"] = max(out["lean"], abs(m["trunk_lean_mean_deg"] - truth["trunk_lean_deg"]))
        elif result.task.kind == "hip_hinge":
            assert m["rep_count"] == len(truth["reps"])
            for rep, true_rep in zip(m["repetitions"], truth["reps"], strict=True):
                out["lead"] = max(out["lead"], abs(rep["hip_lead_ms"] - true_rep["hip_lead_ms"]))
        elif result.task.kind == "gait":
            out["si"] = abs(m["step_time_si_pct"] - truth["step_time_si_pct"])
    return out


@pytest.mark.parametrize(("rate_hz", "seed"), [(60.0, 3), (200.0, 4)])
def test_screen_protocol_matches_ground_truth(tmp_path: Path, rate_hz: float, seed: int) -> None:
    path, session = _write(tmp_path, "screen", rate_hz=rate_hz, seed=seed, misalignment_deg=15.0)
    analysis = analyze_recording(path)
    errors = _truth_errors(analysis, session)
    assert errors["drop"] < 1.0
    assert errors["lean"] < 1.0
    assert errors["lead"] < 30.0
    assert errors["si"] < 1.5


def test_json_contract(tmp_path: Path) -> None:
    path, session = _write(tmp_path, "contract", seed=1)
    messages: list[tuple[str, float]] = []
    analysis = analyze_recording(path, progress=lambda m, f: messages.append((m, f)))
    doc = analysis.to_dict()
    text = json.dumps(doc, allow_nan=False)  # NaN never reaches the JSON
    assert json.loads(text) == doc
    assert doc["format"] == "hipscope-metrics" and doc["format_version"] == 1
    assert doc["software"].startswith("hipscope ")
    rec = doc["recording"]
    assert rec["file_name"] == "contract.h5" and rec["athlete"] == "Test Athlete"
    assert set(rec["sensors"]) == {"pelvis", "trunk", "thigh_left", "thigh_right"}
    for sensor in rec["sensors"].values():
        assert {"device_name", "profile", "rate_hz", "n_samples", "lost_samples", "gaps"} <= set(
            sensor
        )
    assert "method" in doc["calibration"]
    kinds = [(t["kind"], t["side"]) for t in doc["tasks"]]
    assert kinds == [(t.kind, t.side) for t in session.tasks]
    by_kind = {t["kind"]: t for t in doc["tasks"]}
    sls = [t for t in doc["tasks"] if t["kind"] == "single_leg_stance"]
    for task in sls:
        for key in (
            "pelvic_drop_peak_deg",
            "pelvic_drop_mean_deg",
            "trunk_lean_mean_deg",
            "sway_rms_m_s2",
            "sway_ellipse_area_m2_s4",
            "hold_s",
            "pelvic_drop_lr_diff_deg",
        ):
            assert task["metrics"][key] is not None, key
    left, right = (next(t for t in sls if t["side"] == s) for s in ("left", "right"))
    assert left["metrics"]["pelvic_drop_lr_diff_deg"] == pytest.approx(
        left["metrics"]["pelvic_drop_mean_deg"] - right["metrics"]["pelvic_drop_mean_deg"], abs=0.02
    )
    hinge = by_kind["hip_hinge"]["metrics"]
    assert hinge["rep_count"] == 5 and len(hinge["repetitions"]) == 5
    for rep in hinge["repetitions"]:
        for key in (
            "hip_onset_s",
            "lumbar_onset_s",
            "hip_lead_ms",
            "peak_hip_ext_vel_deg_s",
            "time_to_peak_hip_ext_vel_s",
            "hip_share_pct",
        ):
            assert rep[key] is not None, key
    gait = by_kind["gait"]
    for key in (
        "step_time_left_s",
        "step_time_right_s",
        "step_time_si_pct",
        "stride_time_s",
        "cadence_steps_min",
        "stance_time_si_pct",
        "swing_time_si_pct",
        "thigh_rom_left_deg",
        "thigh_rom_right_deg",
        "thigh_rom_si_pct",
        "step_regularity",
        "stride_regularity",
        "harmonic_ratio_vertical",
        "n_steps_left",
        "n_steps_right",
        "initial_contacts_left_s",
        "initial_contacts_right_s",
    ):
        assert key in gait["metrics"], key
        assert gait["metrics"][key] is not None, key
    truth = session.truth[-1]
    assert gait["metrics"]["cadence_steps_min"] == pytest.approx(
        truth["cadence_steps_min"], rel=0.02
    )
    assert gait["metrics"]["thigh_rom_left_deg"] == pytest.approx(
        truth["thigh_rom_left_deg"], abs=1.0
    )
    assert messages[-1] == ("done", 1.0)
    assert analyze_file(path)["tasks"] == doc["tasks"]


def test_pelvis_only_gives_reasons_and_pelvis_contacts(tmp_path: Path) -> None:
    path, session = _write(tmp_path, "pelvis", seed=2, placements=("pelvis",))
    analysis = analyze_recording(path)
    json.dumps(analysis.to_dict(), allow_nan=False)
    by_kind = {t.task.kind: t for t in analysis.tasks}
    sls = next(t for t in analysis.tasks if t.task.kind == "single_leg_stance")
    assert sls.metrics["pelvic_drop_mean_deg"] is not None
    assert sls.metrics["hold_detection"] == "task window"
    assert sls.metrics["trunk_lean_mean_deg"] is None
    assert "trunk" in sls.unavailable["trunk_lean_mean_deg"]
    hinge = by_kind["hip_hinge"]
    assert hinge.metrics["rep_count"] is None and "rep_count" in hinge.unavailable
    gait = by_kind["gait"]
    assert gait.metrics["contact_source"] == (
        "pelvis contacts, pelvis sides (yaw+roll+sway), pelvis foot-off"
    )
    assert (
        gait.metrics["thigh_rom_left_deg"] is None
        and "thigh_left" in gait.unavailable["thigh_rom_left_deg"]
    )
    # the pelvis gives foot-off (validated against IPOL toe-offs), so stance is measured
    assert gait.metrics["final_contact_source"] == "pelvis foot-off (McCamley 2012)"
    assert gait.metrics["stance_time_si_pct"] is not None
    truth = session.truth[-1]
    # pelvis alone: every true contact found within 50 ms, on the right side
    events = gait.events
    for side in ("left", "right"):
        true_ic = np.array(truth[f"initial_contacts_{side}_s"])
        found = events.initial_contacts(side)
        inside = true_ic[(true_ic > found.min() - 0.2) & (true_ic < found.max() + 0.2)]
        assert inside.shape[0] >= true_ic.shape[0] - 2
        nearest = np.min(np.abs(found[:, None] - inside[None, :]), axis=0)
        assert np.all(nearest < 0.05)
    assert gait.metrics["step_time_si_pct"] == pytest.approx(truth["step_time_si_pct"], abs=1.5)


def test_no_pelvis_uses_thighs(tmp_path: Path) -> None:
    path, _ = _write(
        tmp_path,
        "thighs",
        seed=3,
        placements=("thigh_left", "thigh_right"),
        protocol=[StaticSpec(duration_s=4.0), GaitSpec(duration_s=15.0)],
    )
    analysis = analyze_recording(path)
    json.dumps(analysis.to_dict(), allow_nan=False)
    gait = analysis.tasks[-1]
    assert gait.metrics["contact_source"] == "thigh peak flexion"
    assert gait.metrics["step_time_left_s"] is not None
    assert gait.metrics["step_regularity"] is None
    assert "pelvis" in gait.unavailable["step_regularity"]


def test_bad_file_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not an hdf5 file")
    with pytest.raises(RecordingError):
        analyze_recording(bad)
    with pytest.raises(RecordingError):
        analyze_recording(tmp_path / "missing.h5")


def test_bridge_and_squat_hip_lead(tmp_path: Path) -> None:
    from hipscope.acquisition.simulator import RepetitionSpec

    protocol = [
        StaticSpec(duration_s=4.0),
        RepetitionSpec(kind="hip_bridge", reps=3, hip_lead_ms=-80.0),
        RepetitionSpec(kind="squat", reps=3, hip_lead_ms=120.0),
    ]
    path, session = _write(tmp_path, "reps", protocol=protocol, seed=6, misalignment_deg=12.0)
    analysis = analyze_recording(path)
    for result, truth in zip(analysis.tasks[1:], session.truth[1:], strict=True):
        reps = result.metrics["repetitions"]
        assert result.metrics["rep_count"] == len(truth["reps"]) == 3, result.task.kind
        for rep, true_rep in zip(reps, truth["reps"], strict=True):
            assert rep["hip_lead_ms"] == pytest.approx(true_rep["hip_lead_ms"], abs=30.0)
