"""Implausible sensor data (issue: silent wrong results) is found, left out and noted."""

from __future__ import annotations

from pathlib import Path

import hostile_files
import numpy as np
import pytest

from hipscope.acquisition.recording import SensorData
from hipscope.acquisition.samples import SampleBatch
from hipscope.processing import pipeline
from hipscope.processing.quality import (
    ACC_LIMIT_M_S2,
    FROZEN_MIN_S,
    check_sensor,
    screen_samples,
)


def _sensor(acc: np.ndarray, gyr: np.ndarray, rate_hz: float = 100.0) -> SensorData:
    n = acc.shape[0]
    batch = SampleBatch(np.arange(n) / rate_hz, acc.astype(np.float32), gyr.astype(np.float32))
    return SensorData("pelvis", "dev", "", "p", rate_hz, batch)


def _noisy(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    acc = np.array([9.81, 0.0, 0.0]) + rng.normal(0, 0.05, (n, 3))
    gyr = rng.normal(0, 0.01, (n, 3))
    return acc, gyr


def test_values_beyond_any_imu_range_are_left_out() -> None:
    acc, gyr = _noisy(500)
    acc[100:150] = 3e38
    gyr[300] = [0.0, 1e9, 0.0]
    quality = check_sensor(_sensor(acc, gyr))
    assert quality.n_bad == 51
    assert quality.bad[100:150].all() and quality.bad[300]
    assert quality.spans_s == ((1.0, 1.49), (3.0, 3.0))
    note = quality.note()
    assert "51 sample(s) left out" in note and "3e+38 m/s²" in note and "1e+09 rad/s" in note


def test_a_pinned_axis_is_saturation_but_a_hard_movement_is_not() -> None:
    acc, gyr = _noisy(500)
    acc[200:206, 0] = 156.9  # a ±16 g accelerometer clipping on x for 6 samples
    acc[400, 1] = 150.0  # one hard but real peak (not repeated)
    gyr[50:52, 2] = 40.0  # only two equal samples: not yet a run
    quality = check_sensor(_sensor(acc, gyr))
    assert np.flatnonzero(quality.bad).tolist() == list(range(200, 206))
    assert quality.reasons == ("saturated (pinned at a large constant value)",)


def test_a_frozen_sensor_in_noisy_data_but_not_noise_free_synthetic_data() -> None:
    acc, gyr = _noisy(1000)
    n_frozen = int(FROZEN_MIN_S * 100) + 10
    acc[500 : 500 + n_frozen] = acc[500]
    gyr[500 : 500 + n_frozen] = gyr[500]
    quality = check_sensor(_sensor(acc, gyr))
    assert np.flatnonzero(quality.bad).tolist() == list(range(500, 500 + n_frozen))
    assert quality.reasons[0].startswith("frozen")
    # a short repeat is not frozen
    acc2, gyr2 = _noisy(1000, seed=1)
    acc2[500:550] = acc2[500]
    gyr2[500:550] = gyr2[500]
    assert check_sensor(_sensor(acc2, gyr2)).n_bad == 0
    # noise-free data repeat everywhere (simulations, tests): nothing to flag
    still = np.tile([9.81, 0.0, 0.0], (1000, 1))
    assert check_sensor(_sensor(still, np.zeros((1000, 3)))).n_bad == 0


def test_plausible_recordings_pass_untouched() -> None:
    from hipscope.acquisition.recording import load_recording

    recording = load_recording(Path(__file__).parents[1] / "recordings" / "sample_screen.h5")
    screened, notes = screen_samples(recording)
    assert screened is recording and notes == ()
    at_limit = ACC_LIMIT_M_S2 * np.array([[1.0], [0.99], [0.98]]) * np.ones((3, 3))
    assert check_sensor(_sensor(at_limit, np.zeros((3, 3)))).n_bad == 0  # not beyond


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("quality")
    base = hostile_files.base_recording(folder / "base.h5")
    return base, hostile_files.stuck_accelerometer(base, folder)


def test_stuck_accelerometer_in_stance_keeps_the_pelvic_drop_and_says_so(
    session: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The issue's probe: 3e38 for 1 s inside the single-leg hold. Without the screen the
    drop is wrong with no warning; with it the drop matches the clean session's and the
    notes say what was left out."""
    base, stuck = session
    clean = pipeline.analyze_recording(base).to_dict()
    screened = pipeline.analyze_recording(stuck).to_dict()

    def drop(doc: dict) -> float:
        stance = next(t for t in doc["tasks"] if t["kind"] == "single_leg_stance")
        return float(stance["metrics"]["pelvic_drop_mean_deg"])

    assert drop(clean) == pytest.approx(4.0, abs=0.3)
    assert drop(screened) == pytest.approx(drop(clean), abs=0.1)
    note = screened["calibration"]["notes"][0]
    assert note.startswith("pelvis: 50 sample(s) left out") and "3e+38" in note

    monkeypatch.setattr(pipeline, "screen_samples", lambda recording: (recording, ()))
    unscreened = pipeline.analyze_recording(stuck).to_dict()
    assert abs(drop(unscreened) - drop(clean)) > 0.5  # what the screen prevents
