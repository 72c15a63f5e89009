"""Simulated sessions as recordings: the format-v1 round trip and `hipscope simulate`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hipscope.acquisition.recording import load_recording
from hipscope.acquisition.simulator import RepetitionSpec, StaticSpec, simulate
from hipscope.cli import main

REPO = Path(__file__).resolve().parents[1]


def test_written_session_round_trips(tmp_path: Path) -> None:
    sim = simulate([StaticSpec(4.0), RepetitionSpec(reps=2)], rate_hz=120.0, seed=5, with_mag=True)
    path = sim.write(tmp_path / "sim.h5", athlete="Ada", truth_path=tmp_path / "sim.truth.json")
    rec = load_recording(path)
    assert rec.athlete == "Ada"
    assert rec.format_version == 1
    assert rec.tasks == tuple(sim.tasks)
    assert rec.tasks[0].kind == "static" and rec.tasks[0].end_s - rec.tasks[0].start_s >= 3.0
    assert set(rec.sensors) == set(sim.samples)
    for placement, batch in sim.samples.items():
        sensor = rec.sensors[placement]
        assert sensor.device_name == f"hipscope-sim-{placement}"
        assert sensor.profile == "simulated"
        assert sensor.nominal_rate_hz == 120.0
        assert sensor.rate_hz == pytest.approx(120.0)
        assert sensor.lost_samples == 0
        np.testing.assert_array_equal(sensor.samples.time_s, batch.time_s)
        np.testing.assert_array_equal(sensor.samples.acc_m_s2, batch.acc_m_s2)
        np.testing.assert_array_equal(sensor.samples.gyr_rad_s, batch.gyr_rad_s)
        np.testing.assert_array_equal(sensor.samples.mag_ut, batch.mag_ut)
        np.testing.assert_array_equal(sensor.samples.seq, batch.seq)
        np.testing.assert_allclose(
            sensor.attrs["sim_q_segment_sensor"], sim.q_segment_sensor[placement]
        )
    truth = json.loads((tmp_path / "sim.truth.json").read_text())
    assert truth["seed"] == 5 and truth["rate_hz"] == 120.0
    assert [row["kind"] for row in truth["tasks"]] == ["static", "hip_hinge"]
    assert truth["tasks"][1]["reps"][0]["hip_lead_ms"] == sim.truth[1]["reps"][0]["hip_lead_ms"]


def test_simulate_command_writes_a_recording_and_truth(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "screen.h5"
    args = [
        "simulate",
        str(out),
        "--seed",
        "3",
        "--rate",
        "60",
        "--misalignment",
        "12",
        "--athlete",
        "Ann",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "single_leg_stance (right)" in printed and "hip lead" in printed
    rec = load_recording(out)
    assert rec.athlete == "Ann"
    assert rec.sensors["pelvis"].rate_hz == pytest.approx(60.0)
    assert [t.label for t in rec.tasks][:3] == [
        "static",
        "single_leg_stance (left)",
        "single_leg_stance (right)",
    ]
    truth = json.loads(out.with_suffix(".truth.json").read_text())
    assert truth["seed"] == 3
    assert all(s["misalignment_deg"] <= 12.0 for s in truth["sensors"].values())
    # an existing file is refused with one line, and replaced on request
    assert main(args) == 1
    assert "file exists" in capsys.readouterr().err
    assert (
        main([*args, "--overwrite", "--no-truth", "--protocol", "full", "--soft-tissue", "2"]) == 0
    )
    kinds = [t.kind for t in load_recording(out).tasks]
    assert kinds == [
        "static",
        *["single_leg_stance"] * 2,
        "hip_hinge",
        "squat",
        "hip_bridge",
        "gait",
    ]


def test_simulate_command_refuses_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", str(tmp_path / "a.h5"), "--rate", "2"]) == 1
    assert "rate_hz" in capsys.readouterr().err
    assert main(["simulate", str(tmp_path / "a.txt")]) == 1
    assert main(["simulate", str(tmp_path / "a.h5"), "--protocol", "marathon"]) == 1
    assert "unknown protocol 'marathon'" in capsys.readouterr().err
    existing = tmp_path / "keep.h5"
    existing.write_bytes(b"not touched")
    assert main(["simulate", str(existing), "--overwrite", "--misalignment", "90"]) == 1
    assert existing.read_bytes() == b"not touched"  # bad input never deletes the old file
    assert not (tmp_path / "a.h5").exists()


def test_sample_recording_is_what_its_readme_says() -> None:
    """recordings/sample_screen.h5: default protocol, 100 Hz, seed 0, regenerated identically."""
    path = REPO / "recordings" / "sample_screen.h5"
    if not path.exists():
        pytest.skip("no sample recording in this checkout")
    assert path.stat().st_size < 3_000_000
    rec = load_recording(path)
    sim = simulate(rate_hz=100.0, seed=0)
    assert rec.tasks == tuple(sim.tasks)
    for placement, batch in sim.samples.items():
        np.testing.assert_allclose(
            rec.sensors[placement].samples.acc_m_s2, batch.acc_m_s2, atol=1e-4
        )
        np.testing.assert_allclose(
            rec.sensors[placement].samples.gyr_rad_s, batch.gyr_rad_s, atol=1e-5
        )
