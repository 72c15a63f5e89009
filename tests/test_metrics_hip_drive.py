"""HipDrive on synthetic hinge repetitions with known hip and lumbar extension onsets."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from hipscope.processing.events.repetitions import RepetitionSegmenter
from hipscope.processing.metrics.hip_drive import HipDrive


def _cosine_step(t: NDArray[np.float64], start: float, duration: float) -> NDArray[np.float64]:
    """0 before start, 1 after start + duration, raised cosine in between."""
    u = np.clip((t - start) / duration, 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * u)


def _min_jerk_step(t: NDArray[np.float64], start: float, duration: float) -> NDArray[np.float64]:
    """Minimum-jerk step (Flash & Hogan 1985): 10u³ − 15u⁴ + 6u⁵."""
    u = np.clip((t - start) / duration, 0.0, 1.0)
    return u**3 * (10.0 - 15.0 * u + 6.0 * u**2)


STEPS = {"cosine": _cosine_step, "min_jerk": _min_jerk_step}


def hinge(
    rate_hz: float,
    leads_ms: list[float],
    *,
    hip_deg: float = 45.0,
    lumbar_deg: float = 20.0,
    rise_s: float = 1.0,
    rate_noise_deg_s: float = 0.0,
    seed: int = 0,
    shape: str = "cosine",
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], list[float]]:
    """Hip and lumbar flexion (rad) of a hinge series; returns the true hip onsets.

    Noise is gyro-like: white angular-rate noise integrated into the angle.
    """
    t = np.arange(0.0, 2.0 + 4.5 * len(leads_ms), 1.0 / rate_hz)
    hip = np.zeros_like(t)
    lumbar = np.zeros_like(t)
    onsets = []
    _step = STEPS[shape]
    for k, lead_ms in enumerate(leads_ms):
        down = 1.0 + 4.5 * k
        rise = down + 1.6
        onsets.append(rise)
        hip += hip_deg * (_step(t, down, 1.0) - _step(t, rise, rise_s))
        lumbar += lumbar_deg * (_step(t, down, 1.0) - _step(t, rise + lead_ms / 1000.0, rise_s))
    rng = np.random.default_rng(seed)
    hip += np.cumsum(rng.normal(0.0, rate_noise_deg_s, t.shape)) / rate_hz
    lumbar += np.cumsum(rng.normal(0.0, rate_noise_deg_s, t.shape)) / rate_hz
    return t, np.radians(hip), np.radians(lumbar), onsets


# A minimum-jerk start is what the onset extrapolation models; a raised cosine (jump in
# acceleration) is smeared by the 6 Hz low-pass and gets a looser bound (target: 30 ms).
@pytest.mark.parametrize(("shape", "tolerance_ms"), [("min_jerk", 20.0), ("cosine", 25.0)])
@pytest.mark.parametrize("rate_hz", [60.0, 100.0, 200.0])
def test_hip_lead_matches_the_injected_onsets(
    rate_hz: float, shape: str, tolerance_ms: float
) -> None:
    leads = [80.0, -60.0, 0.0, 150.0, 40.0]
    t, hip, lumbar, onsets = hinge(rate_hz, leads, rate_noise_deg_s=0.5, shape=shape)
    drive = HipDrive().compute(
        t, hip_flexion_rad=hip, lumbar_flexion_rad=lumbar, start_s=0.5, end_s=t[-1]
    )
    assert drive.rep_count_ == len(leads)
    for rep, lead, onset in zip(drive.repetitions_, leads, onsets, strict=True):
        assert rep["hip_lead_ms"] == pytest.approx(lead, abs=tolerance_ms)
        assert rep["hip_onset_s"] == pytest.approx(onset, abs=0.05)
        # plain threshold crossing comes later than the true onset
        assert rep["hip_threshold_s"] > rep["hip_onset_s"]
        # peak of a raised cosine of 45° over 1 s: π/2 · 45 deg/s, half-way through the rise
        # peak velocity half-way through the rise: π/2 · 45 deg/s (cosine), 15/8 · 45 (min jerk)
        peak = np.pi / 2 * 45.0 if shape == "cosine" else 15.0 / 8.0 * 45.0
        assert rep["peak_hip_ext_vel_deg_s"] == pytest.approx(peak, rel=0.05)
        assert rep["time_to_peak_hip_ext_vel_s"] == pytest.approx(0.5, abs=0.06)
        assert rep["hip_share_pct"] == pytest.approx(100 * 45 / 65, abs=2.0)
    metrics = drive.metrics_
    assert metrics["hip_lead_ms_median"] == pytest.approx(np.median(leads), abs=tolerance_ms)


def test_lumbar_first_is_negative_and_missing_lumbar_is_explained() -> None:
    t, hip, lumbar, _ = hinge(100.0, [-120.0, -120.0, -120.0], hip_deg=30.0, lumbar_deg=35.0)
    drive = HipDrive().compute(
        t, hip_flexion_rad=hip, lumbar_flexion_rad=lumbar, start_s=0.0, end_s=t[-1]
    )
    assert drive.hip_lead_ms_median_ == pytest.approx(-120.0, abs=15.0)
    only_hip = HipDrive().compute(
        t, hip_flexion_rad=hip, lumbar_flexion_rad=None, start_s=0.0, end_s=t[-1]
    )
    assert only_hip.rep_count_ == 3
    assert only_hip.hip_lead_ms_median_ is None
    assert "lumbar" in only_hip.unavailable_["hip_lead_ms_median"]
    assert all(r["hip_onset_s"] is not None for r in only_hip.repetitions_)
    nothing = HipDrive().compute(
        t, hip_flexion_rad=None, lumbar_flexion_rad=None, start_s=0.0, end_s=t[-1]
    )
    assert nothing.rep_count_ is None
    assert "rep_count" in nothing.unavailable_


def test_segmenter_ignores_small_wobbles() -> None:
    rate_hz = 100.0
    t = np.arange(0, 20, 1 / rate_hz)
    flexion = np.radians(3.0 * np.sin(2 * np.pi * 0.7 * t))
    reps = RepetitionSegmenter().detect(t, flexion, start_s=0, end_s=20).repetitions_
    assert reps == []
    _, hip, lumbar, onsets = hinge(rate_hz, [0.0] * 4)
    t2 = np.arange(hip.shape[0]) / rate_hz
    reps = RepetitionSegmenter().detect(t2, hip + lumbar, start_s=0, end_s=t2[-1]).repetitions_
    assert len(reps) == 4
    for rep, onset in zip(reps, onsets, strict=True):
        assert rep.start_s < rep.turn_s < onset + 0.2 < rep.end_s
