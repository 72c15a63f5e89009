"""`hipscope angles`: the CSV table, the OpenSim motion file, gaps and the atomic write."""

from __future__ import annotations

import csv
import dataclasses
from pathlib import Path

import numpy as np
import pytest

from hipscope.acquisition.samples import SampleBatch
from hipscope.acquisition.simulator import GaitSpec, StaticSpec, simulate
from hipscope.base.errors import HipscopeError
from hipscope.cli import main
from hipscope.processing.angle_export import atomic_writer, format_block

CSV_COLUMNS = [
    "time_s",
    "pelvis_tilt_deg",
    "pelvis_obliquity_deg",
    "pelvis_rotation_deg",
    "hip_flexion_left_deg",
    "hip_adduction_left_deg",
    "hip_rotation_left_deg",
    "hip_flexion_right_deg",
    "hip_adduction_right_deg",
    "hip_rotation_right_deg",
    "lumbar_flexion_deg",
    "lumbar_lateral_bend_deg",
    "lumbar_rotation_deg",
]
MOT_COLUMNS = [
    "time",
    "pelvis_tilt",
    "pelvis_list",
    "pelvis_rotation",
    "hip_flexion_l",
    "hip_adduction_l",
    "hip_rotation_l",
    "hip_flexion_r",
    "hip_adduction_r",
    "hip_rotation_r",
    "lumbar_extension",
    "lumbar_bending",
    "lumbar_rotation",
]
GAP_S = (12.0, 12.5)
"""The left thigh sensor loses these samples (inside the walk)."""
SHORT_GAP_S = (14.0, 14.06)
"""... and these: shorter than the gap the kinematics bridges for its filters."""
STATIC_S = (1.0, 5.0)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    sim = simulate([StaticSpec(duration_s=4.0), GaitSpec(duration_s=12.0)], seed=3)
    thigh = sim.samples["thigh_left"]
    keep = (thigh.time_s < GAP_S[0]) | (thigh.time_s >= GAP_S[1])
    keep &= (thigh.time_s < SHORT_GAP_S[0]) | (thigh.time_s >= SHORT_GAP_S[1])
    cut = SampleBatch(
        thigh.time_s[keep],
        thigh.acc_m_s2[keep],
        thigh.gyr_rad_s[keep],
        None,
        None if thigh.seq is None else thigh.seq[keep],
    )
    sim = dataclasses.replace(sim, samples={**sim.samples, "thigh_left": cut})
    path = tmp_path_factory.mktemp("angles") / "walk.h5"
    sim.write(path)
    return path


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def test_csv_columns_gaps_empty_and_zero_when_standing(recording: Path, tmp_path: Path) -> None:
    out = tmp_path / "a" / "angles.csv"
    assert main(["angles", str(recording), "--out", str(out)]) == 0
    header, rows = _read_csv(out)
    assert header == CSV_COLUMNS
    assert all(len(r) == len(header) for r in rows)
    time_s = np.array([float(r[0]) for r in rows])
    assert np.all(np.diff(time_s) > 0)
    np.testing.assert_allclose(np.diff(time_s), 0.01, atol=1e-6)  # the 100 Hz grid
    column = {name: i for i, name in enumerate(header)}
    in_gap = (time_s > GAP_S[0]) & (time_s < GAP_S[1] - 0.01)
    in_gap |= (time_s > SHORT_GAP_S[0]) & (time_s < SHORT_GAP_S[1] - 0.01)
    assert in_gap.sum() >= 44
    for i in np.flatnonzero(in_gap):
        row = rows[i]
        assert row[column["hip_flexion_left_deg"]] == ""
        assert row[column["hip_rotation_left_deg"]] == ""
        assert row[column["hip_flexion_right_deg"]] != ""
        assert row[column["pelvis_tilt_deg"]] != ""
    outside = ~((time_s > GAP_S[0] - 0.02) & (time_s < GAP_S[1] + 0.02))
    outside &= ~((time_s > SHORT_GAP_S[0] - 0.02) & (time_s < SHORT_GAP_S[1] + 0.02))
    assert all("" not in rows[i] for i in np.flatnonzero(outside))
    # Zero in the calibration posture: quiet standing at the start.
    standing = (time_s >= STATIC_S[0]) & (time_s <= STATIC_S[1])
    for name in CSV_COLUMNS[1:]:
        values = np.array([float(rows[i][column[name]]) for i in np.flatnonzero(standing)])
        assert abs(np.mean(values)) < 0.5, name
    # ... and not zero while walking: the hips swing.
    walking = (time_s > 8.0) & (time_s < 11.0)
    flexion = np.array(
        [float(rows[i][column["hip_flexion_right_deg"]]) for i in np.flatnonzero(walking)]
    )
    assert np.ptp(flexion) > 30.0


def test_mot_header_names_and_signs(recording: Path, tmp_path: Path) -> None:
    out_mot = tmp_path / "angles.mot"
    out_csv = tmp_path / "angles.csv"
    assert main(["angles", str(recording), "--out", str(out_mot)]) == 0
    assert main(["angles", str(recording), "--out", str(out_csv)]) == 0
    lines = out_mot.read_text(encoding="ascii").splitlines()
    _, csv_rows = _read_csv(out_csv)
    complete = [r for r in csv_rows if "" not in r]
    assert 0 < len(complete) < len(csv_rows)  # rows with a gap are left out of the .mot
    assert lines[0] == "angles"
    assert lines[1:6] == [
        "version=1",
        f"nRows={len(complete)}",
        f"nColumns={len(MOT_COLUMNS)}",
        "inDegrees=yes",
        "endheader",
    ]
    assert lines[6].split("\t") == MOT_COLUMNS
    data = [line.split("\t") for line in lines[7:]]
    assert len(data) == len(complete)
    assert all(len(r) == len(MOT_COLUMNS) for r in data)
    values = np.array([[float(v) for v in r] for r in data])
    assert np.isfinite(values).all()
    csv_values = np.array([[float(v) for v in r] for r in complete])
    np.testing.assert_array_equal(values[:, 0], csv_values[:, 0])  # the same times
    # Joint angles: OpenSim's signs are hipscope's except lumbar extension = -flexion.
    for mot, sign, name in (
        ("hip_flexion_r", 1.0, "hip_flexion_right_deg"),
        ("hip_adduction_l", 1.0, "hip_adduction_left_deg"),
        ("hip_rotation_r", 1.0, "hip_rotation_right_deg"),
        ("lumbar_extension", -1.0, "lumbar_flexion_deg"),
        ("lumbar_bending", 1.0, "lumbar_lateral_bend_deg"),
    ):
        np.testing.assert_allclose(
            values[:, MOT_COLUMNS.index(mot)], sign * csv_values[:, CSV_COLUMNS.index(name)]
        )
    # Pelvis: OpenSim's Z-X-Y decomposition, positive tilt = posterior; small angles agree
    # with hipscope's up to the sign of tilt.
    tilt_mot = values[:, MOT_COLUMNS.index("pelvis_tilt")]
    tilt_csv = csv_values[:, CSV_COLUMNS.index("pelvis_tilt_deg")]
    assert np.nanmax(np.abs(tilt_mot + tilt_csv)) < 0.5
    list_mot = values[:, MOT_COLUMNS.index("pelvis_list")]
    obliquity = csv_values[:, CSV_COLUMNS.index("pelvis_obliquity_deg")]
    assert np.nanmax(np.abs(list_mot - obliquity)) < 0.5


def test_format_block_fixed_point_signs_and_empty_cells() -> None:
    text = format_block(
        [np.array([0.0, 12.3456789]), np.array([-0.0001, np.nan]), np.array([-12.3456, 180.0])],
        [6, 3, 3],
        ",",
    )
    assert text == b"0.000000,0.000,-12.346\n12.345679,,180.000\n"
    assert format_block([np.array([1.5]), np.array([np.nan])], [1, 2], "\t", b"NaN") == (
        b"1.5\tNaN\n"
    )


def test_atomic_writer_keeps_the_old_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "angles.csv"
    target.write_text("old\n")
    with pytest.raises(RuntimeError), atomic_writer(target) as handle:
        handle.write(b"half a fi")
        raise RuntimeError("disk gone")
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["angles.csv"]
    with atomic_writer(target) as handle:
        handle.write(b"new\n")
    assert target.read_text() == "new\n"
    blocked = tmp_path / "file"
    blocked.write_text("")
    with pytest.raises(HipscopeError, match="cannot write"), atomic_writer(blocked / "x.csv"):
        pass


def test_bad_input_is_one_line_and_exit_1(
    recording: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["angles", str(recording), "--out", str(tmp_path / "a.xlsx")]) == 1
    assert main(["angles", str(tmp_path / "missing.h5"), "--out", str(tmp_path / "a.csv")]) == 1
    err = capsys.readouterr().err
    assert "expected a .csv or .mot" in err and "no such file" in err
    assert "Traceback" not in err


def test_without_a_pelvis_sensor_there_is_nothing_to_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "thighs.h5"
    simulate(
        [StaticSpec(duration_s=4.0), GaitSpec(duration_s=8.0)],
        seed=1,
        placements=("thigh_left", "thigh_right"),
    ).write(path)
    assert main(["angles", str(path), "--out", str(tmp_path / "a.csv")]) == 1
    assert "no angle to export (needs a pelvis sensor" in capsys.readouterr().err
    # analyze --csv still writes its tables, just without an angle table
    assert main(["analyze", str(path), "--csv", str(tmp_path / "tables")]) == 0
    names = sorted(p.name for p in (tmp_path / "tables").iterdir())
    assert names and not any("angles" in n for n in names)
